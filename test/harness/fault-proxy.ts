/**
 * A fault-injecting HTTP proxy between the exporter and vcsim (SOAP over POST /sdk), for the failures
 * vcsim cannot produce: resets, stalls, slow or truncated bodies, HTML error pages, unknown faults,
 * hostile XML. Rules pick a fault per SOAP method; everything else is forwarded unchanged.
 * Request bodies are never logged (Login carries the password).
 */
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import * as bodies from './fault-bodies.js';

/** What the proxy does to a matching request instead of (or on top of) forwarding it. */
export type Fault =
  | 'reset-headers' // destroy the client socket before any response byte
  | 'reset-mid-body' // forward upstream status+headers and half the body, then destroy the socket
  | 'stall-headers' // never answer (hold the socket until the client gives up or the proxy closes)
  | 'slow-body' // forward headers, then the body at 1 byte per second
  | 'html-503' // 503 text/html, as vCenter's reverse proxy answers while vpxd restarts
  | 'html-500' // 500 text/html, as a reverse proxy answers when the backend failed on a request
  | 'truncated-xml' // 200 text/xml with the first half of the real upstream body (chunked, ended cleanly)
  | 'empty-200' // 200 text/xml, empty body
  | 'non-xml-200' // 200 text/xml, body "this is not xml"
  | 'unknown-fault' // 500 SOAP Fault whose detail has xsi:type="FrobnicationFault"
  | 'not-authenticated' // 500 SOAP NotAuthenticated fault; the session stays valid upstream
  | 'huge-body' // 200 text/xml, valid-looking but enormous (rule.bytes, default 64 MiB), streamed
  | 'doctype-bomb' // 200 text/xml with a DOCTYPE and nested entities (billion laughs)
  | 'deep-nesting' // 200 text/xml, 10,000 nested elements inside the response element
  | 'char-refs' // 200 text/xml, 100,000 character references (&#65;) in one text node
  | 'typed-fault' // 500 SOAP Fault whose detail has xsi:type=rule.faultType (e.g. "constructor")
  | 'element-flood' // 200 text/xml, one returnval of empty elements (<a/>) up to rule.bytes (default 31 MiB), streamed
  | 'attribute-flood' // 200 text/xml, one element with rule.count attributes (default 2,400,000), streamed
  | 'mangle' // forward, passing the upstream body through rule.transform
  | 'delay'; // wait rule.delayMs, then forward — unless the client has given up meanwhile

/** Which requests a fault applies to (SOAP method name or '*'), how often, and its parameters. */
export interface FaultRule {
  /** SOAP method name (e.g. 'QueryPerf'), or '*' for every request. (Same type as `string | '*'`.) */
  method: string;
  fault: Fault;
  /** How many requests this rule applies to; default: forever. */
  times?: number;
  /** Only requests whose body contains this text (e.g. '>VirtualMachine<' for the VM inventory read). */
  bodyIncludes?: string;
  /** Only requests whose body passes this test (e.g. a QueryPerf of more than N entities). */
  bodyMatches?: (body: string) => boolean;
  /** Size of the 'huge-body' response in bytes; default 64 MiB. */
  bytes?: number;
  /** Fault type for 'typed-fault'; default "constructor". */
  faultType?: string;
  /** Fault string for 'typed-fault'; default "A fault of type <faultType>." */
  faultString?: string;
  /** Content of the 'typed-fault' detail element; default `<reason>odd</reason>`. */
  faultFields?: string;
  /** Attribute count for 'attribute-flood'. */
  count?: number;
  /** Body rewrite for 'mangle' (may return a Buffer, e.g. for invalid UTF-8). */
  transform?: (body: string) => string | Buffer;
  /** Wait of 'delay' in ms; default 1000. */
  delayMs?: number;
  /** Header rewrite for 'mangle' (e.g. renaming the session cookie in Set-Cookie). */
  headers?: (headers: OutgoingHttpHeaders) => OutgoingHttpHeaders;
  /** Request body rewrite for the forwarding faults (e.g. a smaller maxObjects); counts and bodies() keep the original. */
  request?: (body: string) => string;
}

/** A running proxy: its URL, request counts, rules and shutdown. */
export interface FaultProxy {
  /** e.g. http://127.0.0.1:PORT/sdk — same path as the upstream URL. */
  url: string;
  /** Requests seen per SOAP method ("(unknown)" when none could be found). */
  counts(): Record<string, number>;
  /** Request bodies seen for `method` since the last resetCounts() (at most the last 2,000). */
  bodies(method: string): string[];
  /** Forgets all counts and recorded bodies. */
  resetCounts(): void;
  /** Appends a rule: the first matching rule with times left applies; each application decrements times. */
  addRule(rule: FaultRule): void;
  /** Removes all rules: everything is forwarded again. */
  clearRules(): void;
  /** Client sockets currently open to the proxy. */
  openConnections(): number;
  /** Closes the server, destroys all sockets (also stalled ones) and clears timers. */
  close(): Promise<void>;
}

/** The key counts() uses for a request whose SOAP method could not be found. */
export const UNKNOWN_METHOD = '(unknown)';

const XML = 'text/xml; charset=utf-8';
const MAX_BODIES = 2000;
const DEFAULT_HUGE_BYTES = 64 * 1024 * 1024;
const DEFAULT_FLOOD_BYTES = 31 * 1024 * 1024;
const DEFAULT_FLOOD_ATTRIBUTES = 2_400_000;
// First element child of the SOAP Body: <soapenv:Body ...> then <ns:Method or <Method.
const METHOD_RE = /<(?:[\w.-]+:)?Body(?:\s[^>]*)?>\s*<(?:[\w.-]+:)?([\w.-]+)[\s>/]/;

/** Local name of the first element inside the SOAP Body, or undefined when there is none. */
export function soapMethod(requestText: string): string | undefined {
  return METHOD_RE.exec(requestText)?.[1];
}

interface UpstreamAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

/** Starts a proxy on 127.0.0.1 (ephemeral port) forwarding to `upstreamUrl` (e.g. vcsim's .../sdk). */
export async function startFaultProxy(upstreamUrl: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  const pool = new Pool(upstream.origin, {
    connections: 16,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const counts = new Map<string, number>();
  const seenBodies = new Map<string, string[]>();
  let rules: { rule: FaultRule; left: number }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  let closed = false;

  const pick = (method: string, body: Buffer): FaultRule | undefined => {
    for (const r of rules) {
      if (r.rule.bodyIncludes !== undefined && !body.includes(r.rule.bodyIncludes)) continue;
      if (r.rule.bodyMatches && !r.rule.bodyMatches(body.toString('utf8'))) continue;
      if ((r.rule.method === '*' || r.rule.method === method) && r.left > 0) {
        r.left--;
        return r.rule;
      }
    }
    return undefined;
  };

  const upstreamRequest = (req: IncomingMessage, body: Buffer) => {
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'soapaction', 'cookie']) {
      const v = req.headers[name];
      if (v !== undefined) headers[name] = Array.isArray(v) ? v.join('; ') : v;
    }
    return pool.request({
      path: req.url ?? upstream.pathname,
      method: req.method === 'GET' || req.method === 'HEAD' ? req.method : 'POST',
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? null : body,
    });
  };

  const keptHeaders = (h: Record<string, string | string[] | undefined>): OutgoingHttpHeaders => {
    const out: OutgoingHttpHeaders = {};
    if (h['content-type'] !== undefined) out['content-type'] = h['content-type'];
    if (h['set-cookie'] !== undefined) out['set-cookie'] = h['set-cookie'];
    return out;
  };

  /** Forwards and buffers the whole upstream answer (always consuming its body). */
  const fetchUpstream = async (req: IncomingMessage, body: Buffer): Promise<UpstreamAnswer> => {
    const up = await upstreamRequest(req, body);
    const data = Buffer.from(await up.body.arrayBuffer());
    return { status: up.statusCode, headers: keptHeaders(up.headers), body: data };
  };

  const send = (res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string | Buffer) => {
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const slowBody = (res: ServerResponse, up: UpstreamAnswer) => {
    res.writeHead(up.status, { ...up.headers, 'content-length': up.body.length });
    let i = 0;
    const step = () => {
      if (i >= up.body.length) {
        stop();
        res.end();
      } else {
        res.write(up.body.subarray(i, ++i));
      }
    };
    const timer = setInterval(step, 1000);
    timers.add(timer);
    const stop = () => {
      clearInterval(timer);
      timers.delete(timer);
    };
    res.once('close', stop);
    step();
  };

  const apply = async (
    req: IncomingMessage,
    res: ServerResponse,
    rule: FaultRule,
    method: string,
    body: Buffer,
  ) => {
    const name = method === UNKNOWN_METHOD ? 'Unknown' : method;
    switch (rule.fault) {
      case 'reset-headers':
        req.socket.destroy();
        return;
      case 'stall-headers':
        return; // Held until the client gives up or close() destroys the socket.
      case 'html-503':
        return send(res, 503, { 'content-type': 'text/html' }, bodies.HTML_503);
      case 'html-500':
        return send(res, 500, { 'content-type': 'text/html' }, bodies.HTML_500);
      case 'empty-200':
        return send(res, 200, { 'content-type': XML }, '');
      case 'non-xml-200':
        return send(res, 200, { 'content-type': XML }, 'this is not xml');
      case 'unknown-fault':
        return send(res, 500, { 'content-type': XML }, bodies.unknownFault());
      case 'not-authenticated':
        return send(res, 500, { 'content-type': XML }, bodies.notAuthenticated());
      case 'typed-fault':
        return send(
          res,
          500,
          { 'content-type': XML },
          bodies.typedFault(rule.faultType ?? 'constructor', rule.faultString, rule.faultFields),
        );
      case 'element-flood':
        res.writeHead(200, { 'content-type': XML, 'transfer-encoding': 'chunked' });
        return pipeline(Readable.from(bodies.elementFlood(name, rule.bytes ?? DEFAULT_FLOOD_BYTES)), res);
      case 'attribute-flood':
        res.writeHead(200, { 'content-type': XML, 'transfer-encoding': 'chunked' });
        return pipeline(
          Readable.from(bodies.attributeFlood(name, rule.count ?? DEFAULT_FLOOD_ATTRIBUTES)),
          res,
        );
      case 'doctype-bomb':
        return send(res, 200, { 'content-type': XML }, bodies.doctypeBomb(name));
      case 'deep-nesting':
        return send(res, 200, { 'content-type': XML }, bodies.deepNesting(name));
      case 'char-refs':
        return send(res, 200, { 'content-type': XML }, bodies.charRefs(name));
      case 'huge-body':
        res.writeHead(200, { 'content-type': XML, 'transfer-encoding': 'chunked' });
        return pipeline(Readable.from(bodies.hugeBody(name, rule.bytes ?? DEFAULT_HUGE_BYTES)), res);
    }
    if (rule.fault === 'delay') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, rule.delayMs ?? 1000);
        timers.add(timer);
        res.once('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
          resolve();
        });
      });
      // A client that gave up never reaches vCenter: its request is dropped, as a slow vCenter's would be.
      if (closed || res.destroyed || res.writableEnded) return;
    }
    const up = await fetchUpstream(
      req,
      rule.request ? Buffer.from(rule.request(body.toString('utf8'))) : body,
    );
    if (closed || res.destroyed) return;
    switch (rule.fault) {
      case 'reset-mid-body': {
        res.writeHead(up.status, { ...up.headers, 'content-length': up.body.length });
        // Destroy only once the half is handed to the kernel, so the client really receives it.
        res.write(up.body.subarray(0, Math.floor(up.body.length / 2)), () => req.socket.destroy());
        return;
      }
      case 'slow-body':
        return slowBody(res, up);
      case 'truncated-xml':
        res.writeHead(200, { 'content-type': XML, 'transfer-encoding': 'chunked' });
        res.end(up.body.subarray(0, Math.floor(up.body.length / 2)));
        return;
      case 'delay':
        return send(res, up.status, up.headers, up.body);
      case 'mangle':
        return send(
          res,
          up.status,
          rule.headers ? rule.headers(up.headers) : up.headers,
          rule.transform ? rule.transform(up.body.toString('utf8')) : up.body,
        );
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const method = soapMethod(body.toString('utf8')) ?? UNKNOWN_METHOD;
    counts.set(method, (counts.get(method) ?? 0) + 1);
    const seen = seenBodies.get(method) ?? [];
    if (seen.push(body.toString('utf8')) > MAX_BODIES) seen.shift();
    seenBodies.set(method, seen);
    const rule = pick(method, body);
    if (rule) return apply(req, res, rule, method, body);
    // Normal case: stream the upstream answer through.
    const up = await upstreamRequest(req, body);
    if (closed || res.destroyed) {
      // The client went away meanwhile. undici's destroy() without an error emits RequestAbortedError,
      // which nobody would handle: dump the body instead.
      await up.body.dump().catch(() => undefined);
      return;
    }
    res.writeHead(up.statusCode, keptHeaders(up.headers));
    await pipeline(up.body, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (closed || res.destroyed) return;
      if (!res.headersSent) {
        send(res, 502, { 'content-type': 'text/plain' }, 'fault-proxy: upstream request failed\n');
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no TCP address');

  return {
    url: `http://127.0.0.1:${address.port}${upstream.pathname}`,
    counts: () => Object.fromEntries(counts),
    bodies: (method) => [...(seenBodies.get(method) ?? [])],
    resetCounts: () => {
      counts.clear();
      seenBodies.clear();
    },
    addRule: (rule) => void rules.push({ rule, left: rule.times ?? Infinity }),
    clearRules: () => void (rules = []),
    openConnections: () => sockets.size,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      const gone = [...sockets].map((s) => new Promise((resolve) => s.once('close', resolve).destroy()));
      server.closeAllConnections();
      await Promise.all([done, ...gone]);
      await pool.destroy().catch(() => undefined);
    },
  };
}
