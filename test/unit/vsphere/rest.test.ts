import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Secret } from '../../../src/config/secret.js';
import { createLogger, silentLogger } from '../../../src/log/logger.js';
import { basicAuth, vapiValue } from '../../../src/vsphere/rest/response.js';
import { RestSession } from '../../../src/vsphere/rest/session.js';
import {
  decodeAttachments,
  decodeIds,
  decodeTag,
  idSegment,
  TaggingApi,
} from '../../../src/vsphere/rest/tagging.js';
import { RestTransport } from '../../../src/vsphere/rest/transport.js';
import { isVsphereError } from '../../../src/vsphere/errors.js';

test('vapiValue unwraps {value}, maps 401 and other statuses, echoes only a dotted vAPI error type', () => {
  assert.deepEqual(vapiValue({ status: 200, json: { value: ['a'] } }, 'GET /x'), ['a']);
  assert.equal(vapiValue({ status: 200, json: { value: null } }, 'GET /x'), undefined);
  assert.equal(vapiValue({ status: 200, json: undefined }, 'DELETE /x'), undefined);
  assert.throws(
    () => vapiValue({ status: 401, json: undefined }, 'GET /x'),
    (e) => isVsphereError(e, 'VSPHERE_NOT_AUTHENTICATED') && e.statusCode === 401,
  );
  assert.throws(
    () => vapiValue({ status: 404, json: { type: 'com.vmware.vapi.std.errors.not_found' } }, 'GET /x'),
    (e) => isVsphereError(e, 'VSPHERE_HTTP_STATUS') && /not_found/.test(e.message) && e.statusCode === 404,
  );
  assert.throws(
    () => vapiValue({ status: 500, json: { type: '<script>' } }, 'GET /x'),
    (e) => isVsphereError(e, 'VSPHERE_HTTP_STATUS') && !e.message.includes('<script>'),
  );
  assert.equal(basicAuth('ü', 'p:w'), `Basic ${Buffer.from('ü:p:w').toString('base64')}`);
});

test('tagging decoders keep well-formed entries only', () => {
  assert.deepEqual(decodeIds(['a', 1, '', null, 'b']), ['a', 'b']);
  assert.deepEqual(decodeIds(undefined), []);
  assert.deepEqual(decodeTag({ id: 't', name: 'n', category_id: 'c', used_by: [] }), {
    id: 't',
    name: 'n',
    categoryId: 'c',
  });
  assert.equal(decodeTag({ id: 't', name: 'n' }), undefined);
  assert.deepEqual(
    decodeAttachments([
      { tag_id: 't1', object_ids: [{ type: 'VirtualMachine', id: 'vm-1' }, { type: 'HostSystem' }, 'x'] },
      { tag_id: 't2' },
      { object_ids: [] },
    ]),
    [
      { tagId: 't1', objects: [{ type: 'VirtualMachine', moid: 'vm-1' }] },
      { tagId: 't2', objects: [] },
    ],
  );
  assert.equal(
    idSegment('urn:vmomi:InventoryServiceTag:a/b?c:GLOBAL'),
    'urn:vmomi:InventoryServiceTag:a%2Fb%3Fc:GLOBAL',
  );
});

test('the vAPI session header is redacted from logs', () => {
  let out = '';
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  createLogger({ level: 'info', format: 'json' }, dest).info(
    {
      headers: { 'vmware-api-session-id': 'sid-123' },
      req: { headers: { 'vmware-api-session-id': 'sid-456' } },
    },
    'x',
  );
  assert.ok(!out.includes('sid-123') && !out.includes('sid-456'), out);
  assert.match(out, /<redacted>/);
});

describe('RestSession against a local vAPI stand-in', () => {
  let server: Server;
  let origin: string;
  let password = 'pw';
  let logins = 0;
  let deletes: string[] = [];
  let loginDelayMs = 0;
  let rejectAll = false;
  let hugeBody = false;
  const valid = new Set<string>();

  before(async () => {
    server = createServer((req, res) => {
      const sid = req.headers['vmware-api-session-id'];
      const json = (status: number, body?: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      req.resume();
      if (req.url === '/rest/com/vmware/cis/session' && req.method === 'POST') {
        logins++;
        if (req.headers.authorization !== basicAuth('u', password)) return json(401);
        const id = `sid-${logins}`;
        valid.add(id);
        setTimeout(() => json(200, { value: id }), loginDelayMs);
        return;
      }
      if (req.url === '/rest/com/vmware/cis/session' && req.method === 'DELETE') {
        deletes.push(String(sid));
        valid.delete(String(sid));
        return json(200);
      }
      if (rejectAll || typeof sid !== 'string' || !valid.has(sid)) return json(401);
      if (hugeBody) return json(200, { value: 'x'.repeat(4096) });
      if (req.url === '/rest/com/vmware/cis/tagging/tag') return json(200, { value: ['t1'] });
      if (req.url === '/rest/com/vmware/cis/tagging/category') return json(200, { value: ['c1', 'gone'] });
      if (req.url === '/rest/com/vmware/cis/tagging/category/id:c1')
        return json(200, { value: { id: 'c1', name: 'env' } });
      if (req.url === '/rest/com/vmware/cis/tagging/tag/id:t1')
        return json(200, { value: { id: 't1', name: 'prod', category_id: 'c1' } });
      return json(404, { type: 'com.vmware.vapi.std.errors.not_found' });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    password = 'pw';
    logins = 0;
    deletes = [];
    loginDelayMs = 0;
    rejectAll = false;
    hugeBody = false;
    valid.clear();
  });

  const session = (now?: () => number) =>
    new RestSession(
      new RestTransport({
        origin,
        maxConnections: 2,
        connectTimeoutMs: 2000,
        requestTimeoutMs: 2000,
        maxResponseBytes: 1024,
        insecureSkipVerify: false,
      }),
      {
        user: 'u',
        password: { read: () => Promise.resolve(new Secret(password)) },
        logger: silentLogger(),
        now,
      },
    );
  const signal = () => AbortSignal.timeout(5000);

  test('concurrent first calls share one login; the session is kept; close DELETEs it', async () => {
    loginDelayMs = 50;
    const s = session();
    const api = new TaggingApi(s);
    const all = await Promise.all(Array.from({ length: 10 }, () => api.tags(signal())));
    for (const tags of all) assert.deepEqual(tags, [{ id: 't1', name: 'prod', categoryId: 'c1' }]);
    await api.tags(signal());
    assert.equal(logins, 1);
    await s.close();
    assert.deepEqual(deletes, ['sid-1']);
    await assert.rejects(api.tags(signal()), (e) => isVsphereError(e, 'VSPHERE_CLOSED'));
  });

  test('an expired session is replaced by exactly one re-login; a persistent 401 fails the call', async () => {
    const s = session();
    await s.call('GET', '/rest/com/vmware/cis/tagging/tag', undefined, signal());
    valid.clear();
    assert.deepEqual(await s.call('GET', '/rest/com/vmware/cis/tagging/tag', undefined, signal()), ['t1']);
    assert.equal(logins, 2);
    rejectAll = true;
    await assert.rejects(s.call('GET', '/rest/com/vmware/cis/tagging/tag', undefined, signal()), (e) =>
      isVsphereError(e, 'VSPHERE_NOT_AUTHENTICATED'),
    );
    assert.equal(logins, 3);
    await s.close();
  });

  test('a refused password backs off (no retry with the same password) but a new one is tried at once', async () => {
    let now = 0;
    let configured = 'wrong';
    const s = new RestSession(
      new RestTransport({
        origin,
        maxConnections: 1,
        connectTimeoutMs: 2000,
        requestTimeoutMs: 2000,
        maxResponseBytes: 1024,
        insecureSkipVerify: false,
      }),
      {
        user: 'u',
        password: { read: () => Promise.resolve(new Secret(configured)) },
        logger: silentLogger(),
        now: () => now,
      },
    );
    const get = () => s.call('GET', '/rest/com/vmware/cis/tagging/tag', undefined, signal());
    await assert.rejects(get(), (e) => isVsphereError(e, 'VSPHERE_INVALID_LOGIN'));
    await assert.rejects(get(), (e) => isVsphereError(e, 'VSPHERE_INVALID_LOGIN'));
    assert.equal(logins, 1, 'no second attempt within the back-off');
    now = 16_000;
    await assert.rejects(get());
    assert.equal(logins, 2);
    configured = 'pw';
    assert.deepEqual(await get(), ['t1']);
    await s.close();
  });

  test('404 of a per-id get is skipped; a response over the size cap fails and the pool stays usable', async () => {
    const s = session();
    assert.deepEqual([...(await new TaggingApi(s).categories(signal()))], [['c1', 'env']]);
    await assert.rejects(
      s.call('GET', '/rest/com/vmware/cis/tagging/nope', undefined, signal()),
      (e) => isVsphereError(e, 'VSPHERE_HTTP_STATUS') && e.statusCode === 404,
    );
    hugeBody = true;
    await assert.rejects(s.call('GET', '/rest/com/vmware/cis/tagging/tag', undefined, signal()), (e) =>
      isVsphereError(e, 'VSPHERE_RESPONSE_TOO_LARGE'),
    );
    hugeBody = false;
    assert.deepEqual(await s.call('GET', '/rest/com/vmware/cis/tagging/tag', undefined, signal()), ['t1']);
    await s.close();
  });
});
