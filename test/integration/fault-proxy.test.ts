/**
 * The fault proxy against a tiny fake SOAP upstream (no vcsim): every fault is observed from a raw
 * node:http client's point of view.
 */
import assert from 'node:assert/strict';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SaxesParser } from 'saxes';
import { startFaultProxy, UNKNOWN_METHOD, type FaultProxy } from '../harness/fault-proxy.js';

const SESSION_COOKIE = 'vmware_soap_session="52a1b2c3-d4e5"; Path=/; HttpOnly; Secure';

function envelope(inner: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`
  );
}

function requestBody(method: string): string {
  return envelope(`<${method} xmlns="urn:vim25"><_this type="Folder">group-d1</_this></${method}>`);
}

/** The fake upstream's fixed answer for `method`, echoing the forwarded cookie and SOAPAction. */
function upstreamBody(method: string, cookie = '', soapAction = ''): string {
  return envelope(
    `<${method}Response xmlns="urn:vim25"><returnval>${method}-ok</returnval>` +
      `<cookie>${cookie.replace(/[<>&"]/g, '')}</cookie><soapaction>${soapAction}</soapaction>` +
      `<pad>${'0123456789'.repeat(30)}</pad></${method}Response>`,
  );
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set when the body ended in an error (e.g. the socket was destroyed mid-body). */
  error?: Error;
}

interface RequestOptions {
  timeoutMs?: number;
  cookie?: string;
  body?: string;
}

/** Sends one request and waits for the response headers (rejects on a socket error or timeout before them). */
function open(url: string, method: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      agent: false, // one socket per request, closed afterwards: keeps openConnections() predictable
      headers: {
        'content-type': 'text/xml; charset=utf-8',
        soapaction: 'urn:vim25/8.0.3.0',
        ...(opts.cookie ? { cookie: opts.cookie } : {}),
      },
    });
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('client timeout')));
    req.once('error', reject);
    req.once('response', resolve);
    req.end(opts.body ?? requestBody(method));
  });
}

/** Sends one request and reads the whole response (a body error is captured, not thrown). */
async function call(url: string, method: string, opts: RequestOptions = {}): Promise<Answer> {
  const res = await open(url, method, opts);
  const chunks: Buffer[] = [];
  const answer: Answer = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) };
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  } catch (e) {
    answer.error = e as Error;
  }
  answer.body = Buffer.concat(chunks);
  return answer;
}

/** Well-formedness check with a real XML parser; returns the maximum element depth and all text. */
function parseXml(xml: string): { depth: number; text: string } {
  const parser = new SaxesParser({ xmlns: true });
  let depth = 0;
  let max = 0;
  let text = '';
  parser.on('opentag', () => (max = Math.max(max, ++depth)));
  parser.on('closetag', () => depth--);
  parser.on('text', (t) => (text += t));
  parser.write(xml).close();
  return { depth: max, text };
}

async function waitFor(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const XML_TYPE = /^text\/xml/;

describe('fault proxy', () => {
  let upstream: Server;
  let upstreamUrl = '';
  let upstreamHits = 0;
  let proxy: FaultProxy;

  before(async () => {
    upstream = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        upstreamHits++;
        const method = /<soapenv:Body><(\w+)/.exec(text)?.[1] ?? 'Nothing';
        const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' };
        if (method === 'Login') headers['set-cookie'] = SESSION_COOKIE;
        res.writeHead(200, headers);
        res.end(upstreamBody(method, req.headers.cookie, String(req.headers.soapaction ?? '')));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/sdk`;
    proxy = await startFaultProxy(upstreamUrl);
  });

  afterEach(() => {
    proxy.clearRules();
    proxy.resetCounts();
  });

  after(async () => {
    await proxy.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  test('forwards unchanged: status, body, content-type, set-cookie; cookie and SOAPAction reach upstream', async () => {
    assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+\/sdk$/);
    const login = await call(proxy.url, 'Login');
    assert.equal(login.status, 200);
    assert.match(String(login.headers['content-type']), XML_TYPE);
    assert.deepEqual(login.headers['set-cookie'], [SESSION_COOKIE]);
    assert.equal(login.body.toString(), upstreamBody('Login', '', 'urn:vim25/8.0.3.0'));
    const cookie = 'vmware_soap_session="52a1b2c3-d4e5"';
    const view = await call(proxy.url, 'CreateContainerView', { cookie });
    assert.equal(view.body.toString(), upstreamBody('CreateContainerView', cookie, 'urn:vim25/8.0.3.0'));
    assert.equal(view.headers['set-cookie'], undefined);
  });

  test('counts requests per SOAP method (before rules apply); resetCounts forgets them', async () => {
    proxy.addRule({ method: 'QueryPerf', fault: 'empty-200' });
    for (const m of ['Login', 'CreateContainerView', 'QueryPerf', 'QueryPerf', 'DestroyView'])
      await call(proxy.url, m);
    await call(proxy.url, 'x', { body: 'not soap at all' });
    assert.deepEqual(proxy.counts(), {
      Login: 1,
      CreateContainerView: 1,
      QueryPerf: 2,
      DestroyView: 1,
      [UNKNOWN_METHOD]: 1,
    });
    // Prefixed method elements and whitespace/attributes on Body are understood too.
    await call(proxy.url, 'x', {
      body: '<s:Envelope xmlns:s="e"><s:Body xmlns:v="urn:vim25">\n  <v:Logout><_this>x</_this></v:Logout></s:Body></s:Envelope>',
    });
    assert.equal(proxy.counts().Logout, 1);
    proxy.resetCounts();
    assert.deepEqual(proxy.counts(), {});
  });

  test('times decrements per application; first matching rule wins; clearRules restores forwarding', async () => {
    proxy.addRule({ method: 'RetrieveServiceContent', fault: 'html-503', times: 1 });
    proxy.addRule({ method: 'RetrieveServiceContent', fault: 'empty-200', times: 2 });
    proxy.addRule({ method: '*', fault: 'non-xml-200' });
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = await call(proxy.url, 'RetrieveServiceContent');
      statuses.push(`${a.status}:${a.body.toString().slice(0, 15)}`);
    }
    assert.deepEqual(statuses, ['503:<html><body><h1', '200:', '200:', '200:this is not xml']);
    assert.equal((await call(proxy.url, 'Login')).body.toString(), 'this is not xml');
    proxy.clearRules();
    const a = await call(proxy.url, 'RetrieveServiceContent');
    assert.equal(a.body.toString(), upstreamBody('RetrieveServiceContent', '', 'urn:vim25/8.0.3.0'));
    assert.equal(proxy.counts().RetrieveServiceContent, 5);
  });

  test('reset-headers: the client sees a socket error before any response, upstream is not asked', async () => {
    proxy.addRule({ method: 'Login', fault: 'reset-headers', times: 1 });
    const hits = upstreamHits;
    await assert.rejects(call(proxy.url, 'Login'), { code: 'ECONNRESET' });
    assert.equal(upstreamHits, hits);
    assert.equal((await call(proxy.url, 'Login')).status, 200);
  });

  test('reset-mid-body: upstream status and headers, the first half of the body, then an error', async () => {
    proxy.addRule({ method: 'Login', fault: 'reset-mid-body' });
    const full = Buffer.from(upstreamBody('Login', '', 'urn:vim25/8.0.3.0'));
    const a = await call(proxy.url, 'Login');
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), XML_TYPE);
    assert.deepEqual(a.headers['set-cookie'], [SESSION_COOKIE]);
    assert.equal(a.headers['content-length'], String(full.length));
    assert.deepEqual(a.body, full.subarray(0, Math.floor(full.length / 2)));
    assert.ok(a.error, 'the truncated body must end in an error');
  });

  test('stall-headers: no answer until the client times out; the socket is then released', async () => {
    proxy.addRule({ method: 'QueryPerf', fault: 'stall-headers' });
    const started = Date.now();
    await assert.rejects(call(proxy.url, 'QueryPerf', { timeoutMs: 300 }), /client timeout/);
    assert.ok(Date.now() - started >= 280);
    await waitFor('the stalled socket to close', () => proxy.openConnections() === 0);
  });

  test('slow-body: headers at once, then about one byte per second', async () => {
    proxy.addRule({ method: 'RetrievePropertiesEx', fault: 'slow-body' });
    const full = Buffer.from(upstreamBody('RetrievePropertiesEx', '', 'urn:vim25/8.0.3.0'));
    const res = await open(proxy.url, 'RetrievePropertiesEx');
    const t0 = Date.now();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(full.length));
    const got: Buffer[] = [];
    const times: number[] = [];
    for await (const chunk of res as AsyncIterable<Buffer>) {
      got.push(chunk);
      times.push(Date.now() - t0);
      if (Buffer.concat(got).length >= 3) break; // breaking out destroys the response
    }
    assert.deepEqual(Buffer.concat(got), full.subarray(0, 3));
    assert.equal(times.length, 3, 'one byte per chunk');
    assert.ok(times[0]! < 500, `first byte at once (${times[0]} ms)`);
    assert.ok(times[2]! >= 1800 && times[2]! < 3000, `third byte after ~2 s (${times[2]} ms)`);
    await waitFor('the slow socket to close', () => proxy.openConnections() === 0);
  });

  test('html-503: what vCenter answers while vpxd restarts', async () => {
    proxy.addRule({ method: '*', fault: 'html-503' });
    const a = await call(proxy.url, 'Login');
    assert.equal(a.status, 503);
    assert.equal(a.headers['content-type'], 'text/html');
    assert.match(a.body.toString(), /^<html><body><h1>503 Service Unavailable<\/h1>.*<\/html>$/);
  });

  test('truncated-xml: 200 text/xml, chunked, first half of the real body, ended cleanly', async () => {
    proxy.addRule({ method: 'RetrieveServiceContent', fault: 'truncated-xml' });
    const full = Buffer.from(upstreamBody('RetrieveServiceContent', '', 'urn:vim25/8.0.3.0'));
    const a = await call(proxy.url, 'RetrieveServiceContent');
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), XML_TYPE);
    assert.equal(a.headers['transfer-encoding'], 'chunked');
    assert.equal(a.error, undefined);
    assert.deepEqual(a.body, full.subarray(0, Math.floor(full.length / 2)));
  });

  test('empty-200 and non-xml-200', async () => {
    proxy.addRule({ method: 'Login', fault: 'empty-200', times: 1 });
    proxy.addRule({ method: 'Login', fault: 'non-xml-200', times: 1 });
    const empty = await call(proxy.url, 'Login');
    assert.equal(empty.status, 200);
    assert.match(String(empty.headers['content-type']), XML_TYPE);
    assert.equal(empty.headers['content-length'], '0');
    assert.equal(empty.body.length, 0);
    const junk = await call(proxy.url, 'Login');
    assert.equal(junk.status, 200);
    assert.match(String(junk.headers['content-type']), XML_TYPE);
    assert.equal(junk.body.toString(), 'this is not xml');
  });

  test('unknown-fault and not-authenticated: well-formed 500 SOAP faults, never sent upstream', async () => {
    proxy.addRule({ method: 'QueryPerf', fault: 'unknown-fault', times: 1 });
    proxy.addRule({ method: 'QueryPerf', fault: 'not-authenticated', times: 1 });
    const hits = upstreamHits;
    const unknown = await call(proxy.url, 'QueryPerf');
    assert.equal(unknown.status, 500);
    assert.match(String(unknown.headers['content-type']), XML_TYPE);
    const u = unknown.body.toString();
    parseXml(u);
    assert.match(u, /<soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode<\/faultcode>/);
    assert.match(u, /<detail><\w+ xmlns="urn:vim25" xsi:type="FrobnicationFault">/);
    const na = await call(proxy.url, 'QueryPerf');
    assert.equal(na.status, 500);
    const n = na.body.toString();
    parseXml(n);
    assert.ok(
      n.includes(
        '<detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="Folder">' +
          'group-d1</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail>',
      ),
    );
    assert.equal(upstreamHits, hits);
  });

  test('typed-fault, element-flood, attribute-flood: well-formed hostile answers, never sent upstream', async () => {
    proxy.addRule({ method: 'QueryPerf', fault: 'typed-fault', faultType: '__proto__', times: 1 });
    proxy.addRule({ method: 'QueryPerf', fault: 'element-flood', bytes: 1 << 20, times: 1 });
    proxy.addRule({ method: 'QueryPerf', fault: 'attribute-flood', count: 10_000, times: 1 });
    const hits = upstreamHits;
    const typed = await call(proxy.url, 'QueryPerf');
    assert.equal(typed.status, 500);
    parseXml(typed.body.toString());
    assert.match(typed.body.toString(), /<detail><__proto__Fault xmlns="urn:vim25" xsi:type="__proto__">/);
    const elements = await call(proxy.url, 'QueryPerf');
    assert.equal(elements.status, 200);
    assert.ok(Math.abs(elements.body.length - (1 << 20)) < 8, `${elements.body.length} bytes`);
    parseXml(elements.body.toString());
    const empty = elements.body.toString().split('<a/>').length - 1;
    assert.ok(empty > 250_000, `${empty} empty elements`);
    const attrs = await call(proxy.url, 'QueryPerf');
    assert.equal(attrs.status, 200);
    parseXml(attrs.body.toString());
    assert.match(attrs.body.toString(), / a0="" a1="" .* a9999=""\/>/);
    assert.equal(upstreamHits, hits);
  });

  test('huge-body: exactly options.bytes of well-formed XML, streamed chunked', async () => {
    proxy.addRule({ method: 'RetrievePropertiesEx', fault: 'huge-body', bytes: 1 << 20, times: 1 });
    const a = await call(proxy.url, 'RetrievePropertiesEx');
    assert.equal(a.status, 200);
    assert.equal(a.headers['transfer-encoding'], 'chunked');
    assert.equal(a.body.length, 1 << 20);
    const xml = a.body.toString();
    assert.match(xml, /<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects>/);
    parseXml(xml);
  });

  test('huge-body default (64 MiB) is streamed: a client can stop early and the socket is released', async () => {
    proxy.addRule({ method: 'RetrievePropertiesEx', fault: 'huge-body' });
    const res = await open(proxy.url, 'RetrievePropertiesEx');
    let seen = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > 2 << 20) break; // like a response size cap
    }
    assert.ok(seen > 2 << 20);
    await waitFor('the huge-body socket to close', () => proxy.openConnections() === 0);
  });

  test('doctype-bomb: a DOCTYPE with ten levels of nested entities, small on the wire', async () => {
    proxy.addRule({ method: 'RetrieveServiceContent', fault: 'doctype-bomb' });
    const a = await call(proxy.url, 'RetrieveServiceContent');
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), XML_TYPE);
    const xml = a.body.toString();
    assert.ok(a.body.length < 4096);
    assert.match(xml, /^<\?xml[^>]*>\s*<!DOCTYPE soapenv:Envelope \[/);
    assert.match(xml, /<!ENTITY lol9 "(&lol8;){10}">/);
    assert.match(xml, /<RetrieveServiceContentResponse xmlns="urn:vim25">.*&lol9;/);
  });

  test('deep-nesting: 10,000 nested elements inside the response element, well-formed', async () => {
    proxy.addRule({ method: 'RetrievePropertiesEx', fault: 'deep-nesting' });
    const a = await call(proxy.url, 'RetrievePropertiesEx');
    assert.equal(a.status, 200);
    // Envelope > Body > RetrievePropertiesExResponse > 10,000 x returnval
    assert.equal(parseXml(a.body.toString()).depth, 3 + 10_000);
  });

  test('char-refs: 100,000 &#65; in one text node of a valid response', async () => {
    proxy.addRule({ method: 'RetrievePropertiesEx', fault: 'char-refs' });
    const a = await call(proxy.url, 'RetrievePropertiesEx');
    assert.equal(a.status, 200);
    const xml = a.body.toString();
    assert.equal(xml.match(/&#65;/g)?.length, 100_000);
    assert.ok(parseXml(xml).text.includes('A'.repeat(100_000)));
  });

  test('mangle: upstream body through transform (string or Buffer); status and headers kept', async () => {
    proxy.addRule({
      method: 'Login',
      fault: 'mangle',
      times: 1,
      transform: (body) => body.replace('Login-ok', 'NaN'),
    });
    const invalidUtf8 = Buffer.from([0x3c, 0x6e, 0x3e, 0xff, 0xfe, 0xc3, 0x3c, 0x2f, 0x6e, 0x3e]); // <n>\xff\xfe\xc3</n>
    proxy.addRule({ method: 'Login', fault: 'mangle', times: 1, transform: () => invalidUtf8 });
    const a = await call(proxy.url, 'Login');
    assert.equal(a.status, 200);
    assert.deepEqual(a.headers['set-cookie'], [SESSION_COOKIE]);
    assert.equal(
      a.body.toString(),
      upstreamBody('Login', '', 'urn:vim25/8.0.3.0').replace('Login-ok', 'NaN'),
    );
    assert.equal(a.headers['content-length'], String(a.body.length));
    const b = await call(proxy.url, 'Login');
    assert.deepEqual(b.body, invalidUtf8);
  });
});

describe('fault proxy lifecycle', () => {
  test('answers 502 when upstream is unreachable', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    const proxy = await startFaultProxy(`http://127.0.0.1:${port}/sdk`);
    try {
      const a = await call(proxy.url, 'Login');
      assert.equal(a.status, 502);
      assert.deepEqual(proxy.counts(), { Login: 1 });
    } finally {
      await proxy.close();
    }
  });

  test('close() destroys stalled and slow sockets, clears timers, and is idempotent', async () => {
    const upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/xml' }).end(upstreamBody('Any')));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const proxy = await startFaultProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/sdk`);
    proxy.addRule({ method: 'QueryPerf', fault: 'stall-headers' });
    proxy.addRule({ method: 'RetrievePropertiesEx', fault: 'slow-body' });
    // No client timeout: only close() can end it. Settled into a value now, so it never rejects unhandled.
    const stalled = call(proxy.url, 'QueryPerf').then(
      () => assert.fail('a stalled request must not be answered'),
      (e: unknown) => e,
    );
    const slow = call(proxy.url, 'RetrievePropertiesEx');
    await waitFor('two open connections', () => proxy.openConnections() === 2);
    const started = Date.now();
    await proxy.close();
    assert.equal(proxy.openConnections(), 0);
    assert.ok(Date.now() - started < 500, 'close() is prompt');
    assert.equal(((await stalled) as NodeJS.ErrnoException).code, 'ECONNRESET');
    const s = await slow;
    assert.equal(s.status, 200);
    assert.ok(s.error, 'the slow body was cut off');
    assert.ok(s.body.length < 5);
    await proxy.close(); // second call is a no-op
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });
});
