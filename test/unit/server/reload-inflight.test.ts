/** web.max_requests across a reload: the app's rebuilt /metrics handler counts the scrapes still in flight. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { request, type IncomingMessage } from 'node:http';
import { createApp } from '../../../src/app.js';
import { silentLogger } from '../../../src/log/logger.js';
import { run, TempDir } from '../config/helpers.js';

const tmp = new TempDir();

const get = (port: number): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        agent: false,
        headers: { 'x-prometheus-scrape-timeout-seconds': '4' },
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });

test('a reload while a scrape is in flight keeps web.max_requests: the next scrape is refused until it is answered', async () => {
  // A vCenter that accepts connections and never answers: a scrape waits for its 3.5 s deadline.
  const sockets = new Set<Socket>();
  const stalled = createServer((s) => void sockets.add(s));
  await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
  const vcPort = (stalled.address() as { port: number }).port;
  const file = tmp.write(
    'exporter.yml',
    `vsphere:\n  url: http://127.0.0.1:${vcPort}/sdk\n  user: u\n  password: p\nweb:\n  listen_address: 127.0.0.1:0\n  max_requests: 1\n`,
  );
  const config = await run(['--config.file', file], {});
  const app = await createApp(config, silentLogger(), {
    reloadConfig: () => run(['--config.file', file], {}),
  });
  try {
    const { port } = await app.start();
    const first = get(port);
    // Give the first scrape time to be counted (it then waits for the stalled vCenter).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await app.reload(), true);
    const second = await get(port);
    assert.equal(second.statusCode, 503, 'the limit of 1 holds across the reload');
    await second.toArray();
    const answered = await first;
    assert.equal(answered.statusCode, 200);
    await answered.toArray();
    const third = await get(port);
    assert.equal(third.statusCode, 200, 'a slot is free again once the first is answered');
    await third.toArray();
  } finally {
    await app.close(Date.now() + 2000);
    for (const s of sockets) s.destroy();
    stalled.close();
  }
});
