import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { answered, writeAnswer, type AnswerLimits } from '../../../src/server/answer-writer.js';

// 16 MiB in views of one 64 KiB buffer: far more than loopback's socket buffers take (about 3 MiB).
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const PARTS = Array.from({ length: 256 }, () => CHUNK);
const TOTAL = PARTS.length * CHUNK.length;
const STALL_MS = 300;

/** Raw GET /; `read` false: pause after the first chunk. `closed` gives the bytes read by then. */
function client(port: number, read: boolean): { socket: Socket; closed: Promise<number> } {
  let bytes = 0;
  const socket = connect(port, '127.0.0.1', () =>
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
  );
  socket.on('error', () => undefined);
  socket.on('data', (d: Buffer) => (bytes += d.length));
  if (!read) socket.once('data', () => socket.pause());
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(bytes)));
  return { socket, closed };
}

/**
 * A server answering GET / with the 16 MiB of PARTS through writeAnswer within `limits`, started
 * and closed with the describe block it is made in; `results` says how each answer ended.
 */
function answerServer(limits: AnswerLimits): {
  port: () => number;
  server: () => Server;
  results: { ms: number; finished: boolean }[];
} {
  let server: Server;
  let port = 0;
  const results: { ms: number; finished: boolean }[] = [];
  before(async () => {
    server = createServer((_req, res: ServerResponse) => {
      const t0 = performance.now();
      res.writeHead(200, { 'Content-Length': String(TOTAL) });
      writeAnswer(res, PARTS, limits);
      void answered(res).then(() =>
        results.push({ ms: performance.now() - t0, finished: res.writableFinished }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  return { port: () => port, server: () => server, results };
}

void describe('writeAnswer / answered', () => {
  const rig = answerServer({ stallMs: STALL_MS, maxMs: 60_000 });
  const { results } = rig;
  let server: Server;
  let port: number;
  before(() => {
    server = rig.server();
    port = rig.port();
  });

  void it('a client that reads gets the whole answer; answered() resolves once it is flushed', async () => {
    results.length = 0;
    const bytes = await client(port, true).closed;
    assert.ok(bytes > TOTAL, `${bytes} bytes`);
    assert.equal(results.length, 1);
    assert.equal(results[0]!.finished, true);
  });

  void it('a client that stops reading is cut after the stall time; answered() resolves unfinished', async () => {
    results.length = 0;
    const c = client(port, false);
    const deadline = Date.now() + 30 * STALL_MS;
    while (results.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(results.length, 1, 'the server still holds the answer');
    assert.equal(results[0]!.finished, false);
    assert.ok(results[0]!.ms >= STALL_MS, `cut after ${results[0]!.ms.toFixed(0)} ms`);
    // Reading now gets what the kernel held, then the end: the answer was cut short.
    c.socket.resume();
    const bytes = await c.closed;
    assert.ok(bytes < TOTAL, `${bytes} bytes`);
  });
  void it('pipelined answers waiting behind a stalled one are all released when it is cut', async () => {
    results.length = 0;
    let handled = 0;
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const count = (): void => void handled++;
    server.on('request', count);
    try {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(30)),
      );
      socket.on('error', () => undefined);
      socket.once('data', () => socket.pause());
      const deadline = Date.now() + 30 * STALL_MS;
      while ((handled === 0 || results.length < handled) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.ok(handled > 1, `${handled} requests reached the handler`);
      assert.equal(results.length, handled, 'every answer is released');
      assert.deepEqual(warnings, []);
      socket.destroy();
    } finally {
      server.off('request', count);
      process.off('warning', onWarning);
    }
  });
});

void describe('writeAnswer behind a slow pipelined answer', () => {
  let server: Server;
  let port: number;
  before(async () => {
    // GET /slow answers after 3 stall times; GET /fast at once, through writeAnswer. Pipelined on one
    // connection, /fast waits for /slow without owning the socket: that wait is not a stall.
    server = createServer((req, res: ServerResponse) => {
      const body = Buffer.from(req.url === '/slow' ? 'slow\n' : 'fast\n');
      const send = (): void => {
        res.writeHead(200, { 'Content-Length': String(body.length) });
        writeAnswer(res, [body], { stallMs: STALL_MS, maxMs: 60_000 });
      };
      if (req.url === '/slow') setTimeout(send, 3 * STALL_MS);
      else send();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  void it('a pipelined answer waiting for the socket is not cut; both arrive', async () => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(
        'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      ),
    );
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    assert.match(text, /slow\n/, 'the first answer arrived');
    assert.match(text, /fast\n/, `the pipelined answer arrived too: ${JSON.stringify(text)}`);
  });
});

void describe('writeAnswer: the whole answer within maxMs', () => {
  const MAX_MS = 2500;
  // The stall clock runs from drain to drain, and the kernel wakes a writer only once a third of its
  // send buffer is free: far apart for a slow reader, so here it is out of the way.
  const { port, results } = answerServer({ stallMs: 60_000, maxMs: MAX_MS });

  void it('a client that reads steadily but too slowly (never a stall) is cut at maxMs', async (t) => {
    let bytes = 0;
    const socket = connect(port(), '127.0.0.1', () =>
      socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    socket.on('error', () => undefined);
    // A chunk every 50 ms: ~1 MiB/s at most, so 16 MiB would take far longer than MAX_MS.
    socket.on('data', (d: Buffer) => {
      bytes += d.length;
      socket.pause();
      setTimeout(() => socket.resume(), 50);
    });
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    t.diagnostic(`cut after ${results[0]?.ms.toFixed(0)} ms with ${(bytes / 2 ** 20).toFixed(1)} MiB read`);
    assert.equal(results.length, 1);
    assert.equal(results[0]!.finished, false);
    assert.ok(results[0]!.ms >= MAX_MS, `cut after ${results[0]!.ms.toFixed(0)} ms`);
    assert.ok(bytes < TOTAL, `${bytes} bytes`);
  });
});
