import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Collection } from '../../../src/scrape/scraper.js';
import { metricsHandler, type CollectionSource } from '../../../src/server/metrics-handler.js';

test('a client gone before the /metrics handler runs (e.g. during basic auth) joins with an aborted signal', async () => {
  const seen: boolean[] = [];
  const source: CollectionSource = {
    reportsAge: false,
    get(_budget, hangup): Promise<Collection> {
      seen.push(hangup.aborted);
      return Promise.resolve({
        up: false,
        body: [],
        durationSeconds: 0,
        finishedAt: Date.now(),
        gzip: () => Promise.resolve(Buffer.alloc(0)),
      });
    },
  };
  const handler = metricsHandler(
    source,
    { timeoutSeconds: 10, timeoutOffsetSeconds: 0.5, maxTimeoutSeconds: 120 },
    () => Promise.resolve(''),
    4,
  );
  let handled!: Promise<void>;
  const ran = new Promise<void>((resolve) => {
    // Stands in for an asynchronous guard (bcrypt): the handler runs only once the client is gone.
    const server = createServer((req, res) => {
      res.once('close', () => {
        handled = Promise.resolve(handler(req, res)).finally(() => server.close());
        resolve();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false });
      req.on('error', () => undefined);
      req.end(() => setTimeout(() => req.destroy(), 50));
    });
  });
  await ran;
  await handled;
  assert.deepEqual(seen, [true], 'the collection source saw the hang-up at once');
});
