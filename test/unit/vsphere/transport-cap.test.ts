/**
 * max_response_bytes at the transport: an answer read whole is capped in total; a streamed one
 * (WaitForUpdatesEx, RetrievePropertiesEx, QueryPerf) by what is held at once, its total by a
 * much larger bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SoapTransport } from '../../../src/vsphere/soap/transport.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { ENVELOPE_HEAD, ENVELOPE_TAIL } from '../../harness/fault-bodies.js';

const MiB = 1024 * 1024;
const CAP = MiB;
const object = (i: number, pad = 0): string =>
  `<objects><obj type="VirtualMachine">vm-${i}</obj><propSet><name>name</name><val>vm-${i}${'x'.repeat(pad)}</val></propSet></objects>`;

/** Answers with `objects` objects of ~100 + `pad` bytes, then one of `padded` bytes, in 64 KiB writes. */
function* body(objects: number, padded = 0, pad = 0): Generator<string> {
  yield `${ENVELOPE_HEAD}<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>`;
  let chunk = '';
  for (let i = 0; i < objects; i++) {
    chunk += object(i, pad);
    if (chunk.length > 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
  if (padded > 0) {
    const big = object(0, padded);
    for (let i = 0; i < big.length; i += 65_536) yield big.slice(i, i + 65_536);
  }
  yield `</returnval></RetrievePropertiesExResponse>${ENVELOPE_TAIL}`;
}

describe('SoapTransport: the byte cap of streamed and whole answers (max_response_bytes 1 MiB)', () => {
  let server: Server;
  let transport: SoapTransport;
  let next: () => Generator<string> = () => body(0);

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
      const parts = next();
      const pump = (): void => {
        for (let r = parts.next(); !r.done; r = parts.next())
          if (!res.write(r.value)) return void res.once('drain', pump);
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    transport = new SoapTransport({
      url: new URL(`http://127.0.0.1:${port}/sdk`),
      maxConnections: 2,
      connectTimeoutMs: 5000,
      requestTimeoutMs: 10_000,
      maxResponseBytes: CAP,
      insecureSkipVerify: false,
    });
  });
  after(async () => {
    await transport?.close();
    await new Promise((r) => server?.close(r));
  });

  const call = (stream: boolean, onElement: () => void = () => undefined) =>
    transport.call(
      'RetrievePropertiesEx',
      { type: 'PropertyCollector', value: 'pc' },
      '',
      stream ? { stream: { depth: 4, name: 'objects', onElement } } : {},
    );
  const tooLarge = (re: RegExp) => (e: unknown) =>
    e instanceof VsphereError && e.code === 'VSPHERE_RESPONSE_TOO_LARGE' && re.test(e.message);

  test('a streamed answer of 4 MiB (each object ~100 bytes) is read whole under a 1 MiB cap', async () => {
    next = () => body(40_000);
    let n = 0;
    await call(true, () => void n++);
    assert.equal(n, 40_000);
  });

  test('the same answer read whole (not streamed) is refused for its total', async () => {
    next = () => body(40_000);
    await assert.rejects(call(false), tooLarge(/response over 1048576 bytes$/));
  });

  test('a streamed answer with one object over the cap is refused', async () => {
    next = () => body(10, 2 * MiB);
    await assert.rejects(call(true), tooLarge(/characters held at once/));
  });

  test('onReceived: told once a 200 answer is in, while its elements are still being read', async () => {
    next = () => body(20_000); // ~2 MiB in 64 KiB writes
    let n = 0;
    let atReceived = -1;
    await transport.call('RetrievePropertiesEx', { type: 'PropertyCollector', value: 'pc' }, '', {
      stream: {
        depth: 4,
        name: 'objects',
        // A slow reader: the answer arrives faster than it is read.
        onElement: () => {
          n++;
          const until = performance.now() + 0.02;
          while (performance.now() < until);
        },
        onReceived: () => {
          assert.equal(atReceived, -1, 'told once');
          atReceived = n;
        },
      },
    });
    assert.equal(n, 20_000);
    assert.ok(atReceived >= 0 && atReceived < n, `told after ${atReceived} of ${n} elements`);
  });

  test('a streamed answer past its total bound (32 × the cap) is refused', async () => {
    next = () => body(18_000, 0, 2000); // ~36 MiB
    await assert.rejects(call(true), tooLarge(/response over 33554432 bytes in all \(streamed\)/));
  });
});
