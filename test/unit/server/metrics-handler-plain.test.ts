/**
 * A collection held as gzip only (a large one, the kept one) answered to a client that does not
 * accept gzip (curl): its text is unzipped as the client reads, never whole per reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { gunzipStream } from '../../../src/exposition/index.js';
import type { Collection } from '../../../src/scrape/collection.js';
import { metricsHandler, type CollectionSource } from '../../../src/server/metrics-handler.js';

// 32 MiB of exposition text: far more than loopback's socket buffers hold (a few MiB).
const LINE = 'vsphere_vm_cpu_usage_ratio{vm="vm-0000000",vm_id="vm-0000000"} 0.25\n';
const TEXT = Buffer.from(LINE.repeat(Math.ceil((32 * 1024 * 1024) / LINE.length)));
const GZ = gzipSync(TEXT, { level: 1 });
const SELF = '# TYPE process_open_fds gauge\nprocess_open_fds 9\n';

/** A server answering /metrics with a gzip-only collection; `streams` gets each text stream handed out, counted. */
async function rig(): Promise<{
  port: number;
  streams: { produced: number; stream: PassThrough }[];
  close(): Promise<void>;
}> {
  const streams: { produced: number; stream: PassThrough }[] = [];
  const collection: Collection = {
    up: true,
    body: [],
    durationSeconds: 1,
    finishedAt: Date.now(),
    gzip: () => Promise.resolve(GZ),
    plain: () => {
      const seen = {
        produced: 0,
        stream: new PassThrough({
          transform(chunk: Buffer, _enc, done) {
            seen.produced += chunk.length;
            done(null, chunk);
          },
        }),
      };
      streams.push(seen);
      return Promise.resolve(gunzipStream(GZ).pipe(seen.stream));
    },
  };
  const source: CollectionSource = { reportsAge: false, get: () => Promise.resolve(collection) };
  const handler = metricsHandler(
    source,
    { timeoutSeconds: 10, timeoutOffsetSeconds: 0.5, maxTimeoutSeconds: 120 },
    () => Promise.resolve(SELF),
    4,
  );
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    streams,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const get = (port: number, method = 'GET'): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', method, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });

test('a plain-text reader of a gzip-only collection gets the whole text, then the process metrics', async () => {
  const r = await rig();
  try {
    const res = await get(r.port);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const body = Buffer.concat((await res.toArray()) as Buffer[]);
    assert.equal(body.length, TEXT.length + SELF.length);
    assert.ok(body.subarray(0, TEXT.length).equals(TEXT), 'the text, unchanged');
    assert.equal(body.subarray(TEXT.length).toString(), SELF);

    const opened = r.streams.length;
    const head = await get(r.port, 'HEAD');
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], undefined, 'HEAD: the GET is chunked');
    assert.equal((await head.toArray()).length, 0, 'HEAD: headers only');
    assert.equal(r.streams.length, opened, 'HEAD: the text is not unzipped');
  } finally {
    await r.close();
  }
});

test('a plain-text reader that stops reading holds a few MiB of the text, not all of it; its stream closes with it', async (t) => {
  const r = await rig();
  try {
    const res = await get(r.port);
    // Read the first chunk, then stop.
    await new Promise<void>((resolve) => res.once('data', () => (res.pause(), resolve())));
    // Wait until the unzipping stops (the socket's buffers are full).
    let last = -1;
    for (let i = 0; i < 100 && r.streams[0]!.produced !== last; i++) {
      last = r.streams[0]!.produced;
      await new Promise((w) => setTimeout(w, 100));
    }
    const produced = r.streams[0]!.produced;
    t.diagnostic(
      `unzipped for a reader that stopped: ${(produced / 2 ** 20).toFixed(1)} MiB of ${(TEXT.length / 2 ** 20).toFixed(0)}`,
    );
    assert.ok(
      produced < 12 * 2 ** 20, // the socket buffers of both ends (~4 MiB here), not the 32 MiB text
      `${(produced / 2 ** 20).toFixed(1)} MiB unzipped of ${(TEXT.length / 2 ** 20).toFixed(0)}`,
    );
    res.destroy();
    for (let i = 0; i < 100 && !r.streams[0]!.stream.destroyed; i++)
      await new Promise((w) => setTimeout(w, 20));
    assert.ok(r.streams[0]!.stream.destroyed, 'the text stream is closed when the client goes');
  } finally {
    await r.close();
  }
});
