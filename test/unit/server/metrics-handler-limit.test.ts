/** The /metrics and /probe concurrency limit (web.max_requests), across handlers rebuilt by a reload. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Collection } from '../../../src/scrape/collection.js';
import { metricsHandler, type CollectionSource, type InFlight } from '../../../src/server/metrics-handler.js';

const DEADLINE = { timeoutSeconds: 10, timeoutOffsetSeconds: 0.5, maxTimeoutSeconds: 120 };

test('a handler rebuilt by a reload counts the answers its predecessor still has in flight', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const source: CollectionSource = {
    reportsAge: false,
    async get(): Promise<Collection> {
      await held;
      return {
        up: true,
        body: [Buffer.from('x 1\n')],
        durationSeconds: 0,
        finishedAt: Date.now(),
        gzip: () => Promise.resolve(Buffer.alloc(0)),
      };
    },
  };
  const inFlight: InFlight = { count: 0 };
  const self = (): Promise<string> => Promise.resolve('');
  let handler = metricsHandler(source, DEADLINE, self, 1, inFlight);
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const get = (): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, resolve);
      req.on('error', reject);
      req.end();
    });
  try {
    const first = get();
    while (inFlight.count === 0) await new Promise((r) => setTimeout(r, 5));
    // The reload: a new handler for the same route, with the route's count.
    handler = metricsHandler(source, DEADLINE, self, 1, inFlight);
    const second = await get();
    assert.equal(second.statusCode, 503, 'the limit of 1 holds across the reload');
    await second.toArray();
    release();
    const res = await first;
    assert.equal(res.statusCode, 200);
    assert.match(Buffer.concat((await res.toArray()) as Buffer[]).toString(), /^x 1$/m);
    while (inFlight.count > 0) await new Promise((r) => setTimeout(r, 5));
    const third = await get();
    assert.equal(third.statusCode, 200, 'the slot is free again once the answer is written');
    await third.toArray();
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
