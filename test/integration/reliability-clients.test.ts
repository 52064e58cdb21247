/**
 * Clients in front of the exporter that ask and then do not read: each holds its answer (and the
 * collection it shares) in the exporter. They must count against `web.max_requests` until their
 * answer is flushed, and be cut when their answer makes no progress, so memory stays bounded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { exporterEnv } from '../harness/env.js';

const MAX_REQUESTS = 4;
const CLIENTS = 12;
/** The exporter's no-progress limit for an answer (ANSWER_STALL_MS). */
const STALL_S = 10;

/** A client that sent GET /metrics, read its first bytes (the status line) and stopped reading. */
interface Stalled {
  socket: Socket;
  status: number;
  head: string;
  /** Content-Length of the answer. */
  length: number;
  /** Body bytes received before the client paused. */
  got: number;
  at: number;
}

/** Connects, asks for /metrics (no gzip, so the answer is the whole exposition) and pauses after the first chunk. */
function stalledClient(port: number): Promise<Stalled> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 30 s'));
    }, 30_000);
    socket.once('error', reject);
    socket.once('data', (first: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      const text = first.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end);
      resolve({
        socket,
        status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]),
        head,
        length: Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]),
        got: first.length - end - 4,
        at: performance.now(),
      });
    });
  });
}

/** Resumes a paused client and reads until the server ends the connection; the body bytes received. */
function drain(c: Stalled): Promise<number> {
  return new Promise((resolve) => {
    let got = c.got;
    const timer = setTimeout(() => c.socket.destroy(), 30_000);
    c.socket.on('data', (d: Buffer) => (got += d.length));
    c.socket.once('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    c.socket.on('error', () => undefined);
    c.socket.resume();
  });
}

describe('reliability: clients that do not read their answers', () => {
  let vc: Vcsim;
  let dir: string;
  let exporter: ExporterProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-clients-'));
    // 1,800 VMs with their extra counters: an exposition of about 6.5 MiB, well over what loopback buffers
    // (up to about 4.5 MiB here) take from a client that does not read.
    vc = await startVcsim({ args: ['-cluster', '2', '-vm', '600', '-extras'] });
    const config = join(dir, 'config.yml');
    // Background mode serves the last collection at once, so the clients below come within
    // seconds of each other, well inside the stall timeout, whatever the machine's load.
    writeFileSync(
      config,
      `web:\n  max_requests: ${MAX_REQUESTS}\n` +
        'scrape:\n  collection: background\n  interval_seconds: 300\n  timeout_seconds: 60\n',
    );
    exporter = await startExporter({ env: exporterEnv(vc, dir), args: [`--config.file=${config}`] });
    // The first collection (it also reads the counter catalogue).
    assert.equal((await exporter.scrape()).status, 200);
  });
  after(async () => {
    await exporter?.stop();
    await vc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(`${CLIENTS} clients one after another that never read: ${MAX_REQUESTS} hold the slots, the rest get 503, the stalled ones are cut after ${STALL_S} s`, async (t) => {
    await sleep(200);
    const fds0 = exporter.openFds();
    const rss0 = exporter.rssBytes();
    const port = Number(new URL(exporter.baseUrl).port);
    const clients: Stalled[] = [];
    try {
      // One after another, each once the previous one has its answer: every answer is written
      // before the next client asks.
      for (let i = 0; i < CLIENTS; i++) clients.push(await stalledClient(port));
      const rssHeld = exporter.rssBytes();
      const fdsHeld = exporter.openFds();
      const ok = clients.filter((c) => c.status === 200);
      const refused = clients.filter((c) => c.status === 503);
      assert.deepEqual(
        clients.map((c) => c.status),
        [...Array<number>(MAX_REQUESTS).fill(200), ...Array<number>(CLIENTS - MAX_REQUESTS).fill(503)],
        'the first clients hold every slot until their answers are read',
      );
      for (const r of refused) assert.match(r.head, /\r\nRetry-After: 1\r?$/im);
      for (const c of ok) assert.ok(c.length > 512 * 1024, `a ${c.length}-byte exposition`);

      // The server cuts the stalled answers: their sockets go (fds back to the baseline).
      const stalledSince = Math.max(...ok.map((c) => c.at));
      const deadline = stalledSince + (STALL_S + 15) * 1000;
      while (exporter.openFds() > fdsHeld - MAX_REQUESTS && performance.now() < deadline) await sleep(250);
      const cutAfter = (performance.now() - Math.min(...ok.map((c) => c.at))) / 1000;
      assert.ok(exporter.openFds() <= fds0 + 2, `fds ${fds0} → ${fdsHeld} → ${exporter.openFds()}`);
      assert.ok(cutAfter > STALL_S / 2, `cut after ${cutAfter.toFixed(1)} s, before the stall timeout`);
      // Reading now gets only what was already in the kernel's buffers: the answers were cut short.
      const received = await Promise.all(ok.map(drain));
      for (const [i, got] of received.entries())
        assert.ok(got < ok[i]!.length, `client ${i} got ${got} of ${ok[i]!.length} bytes: not cut`);

      // The slots are free again.
      assert.equal((await exporter.scrape()).status, 200);
      // What the stalled answers held is bounded by the slots: far below the 12 expositions.
      const grown = rssHeld - rss0;
      assert.ok(grown < 64 * 1024 * 1024, `RSS grew ${(grown / 2 ** 20).toFixed(1)} MiB`);
      t.diagnostic(
        `statuses ${clients.map((c) => c.status).join(' ')}; exposition ${ok[0]!.length} bytes; ` +
          `RSS ${(rss0 / 2 ** 20).toFixed(0)} → ${(rssHeld / 2 ** 20).toFixed(0)} MiB held; fds ${fds0} → ${fdsHeld} → ` +
          `${exporter.openFds()}; stalled sockets cut ${cutAfter.toFixed(1)} s after the first stalled; ` +
          `bytes read by the cut clients: ${received.join(', ')}`,
      );
    } finally {
      for (const c of clients) c.socket.destroy();
    }
  });
});
