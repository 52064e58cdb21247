/** readBody: chunks taken off the connection ahead of a slow reader, within the cap, the read-ahead bound and the deadline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { readBody } from '../../../src/vsphere/body-reader.js';

const KiB = 1024;
const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

test('every chunk reaches onChunk in order; onReceived comes once, before a slow reader is done', async () => {
  const body = new PassThrough();
  const sent: Buffer[] = Array.from({ length: 40 }, (_, i) => Buffer.alloc(16 * KiB, i));
  for (const c of sent) body.write(c);
  body.end();
  const got: Buffer[] = [];
  let receivedAt = -1;
  await readBody(body, {
    label: 'QueryPerf',
    maxBytes: 10 * 1024 * KiB,
    onChunk: (c) => {
      got.push(c);
      busy(1);
    },
    onReceived: () => {
      assert.equal(receivedAt, -1);
      receivedAt = got.length;
    },
  });
  assert.deepEqual(Buffer.concat(got), Buffer.concat(sent));
  assert.ok(
    receivedAt >= 0 && receivedAt < got.length,
    `received after ${receivedAt} of ${got.length} chunks`,
  );
});

test('an answer over the cap is refused and its body destroyed; onReceived is not told', async () => {
  const body = new PassThrough();
  let received = false;
  const reading = readBody(body, {
    label: 'QueryPerf',
    maxBytes: 100 * KiB,
    capText: '100 KiB in all',
    onChunk: () => undefined,
    onReceived: () => (received = true),
  });
  for (let i = 0; i < 4; i++) body.write(Buffer.alloc(64 * KiB));
  body.end();
  await assert.rejects(reading, {
    code: 'VSPHERE_RESPONSE_TOO_LARGE',
    message: 'QueryPerf: response over 100 KiB in all',
  });
  assert.equal(received, false);
  assert.ok(body.destroyed);
});

test('a reader far behind pauses the body 1 MiB ahead of it, and resumes it as it catches up', async () => {
  // 10 MiB already arrived: flowing, the body would hand all of it over at once.
  const body = new PassThrough({ highWaterMark: 16 * 1024 * KiB });
  const sent = Array.from({ length: 160 }, (_, i) => Buffer.alloc(64 * KiB, i));
  for (const c of sent) body.write(c);
  body.end();
  const pause = body.pause.bind(body);
  let pauses = 0;
  let heldAtPause = 0;
  let taken = 0;
  let offered = 0;
  body.on('data', (c: Buffer) => (offered += c.length));
  body.pause = () => {
    pauses++;
    heldAtPause = Math.max(heldAtPause, offered - taken);
    return pause();
  };
  const got: Buffer[] = [];
  await readBody(body, {
    label: 'WaitForUpdatesEx',
    maxBytes: 64 * 1024 * KiB,
    onChunk: (c) => {
      got.push(c);
      taken += c.length;
    },
  });
  assert.ok(pauses > 0, 'paused');
  assert.ok(heldAtPause <= 1024 * KiB + 64 * KiB, `held ${heldAtPause} bytes ahead`);
  assert.deepEqual(Buffer.concat(got), Buffer.concat(sent));
});

test('a deadline while waiting for the next chunk ends the read and destroys the body', async () => {
  const body = new PassThrough();
  const ac = new AbortController();
  const reading = readBody(body, {
    label: 'QueryPerf',
    maxBytes: 1024 * KiB,
    signal: ac.signal,
    onChunk: () => undefined,
  });
  body.write(Buffer.alloc(KiB));
  await nextTurn();
  ac.abort(new Error('deadline'));
  await assert.rejects(reading, /deadline/);
  assert.ok(body.destroyed);
});

test('a body destroyed mid-answer fails the read: with its error, or as a premature close without one', async () => {
  for (const [error, expected] of [
    [new Error('socket hang up'), /socket hang up/],
    [undefined, { code: 'ERR_STREAM_PREMATURE_CLOSE' }],
  ] as const) {
    const body = new PassThrough();
    const reading = readBody(body, { label: 'QueryPerf', maxBytes: 1024 * KiB, onChunk: () => undefined });
    body.write(Buffer.alloc(KiB));
    await nextTurn();
    body.destroy(error);
    await assert.rejects(reading, expected);
  }
});

test('a chunk handler that throws ends the read with its error and destroys the body', async () => {
  const body = new PassThrough();
  body.write(Buffer.alloc(KiB));
  const reading = readBody(body, {
    label: 'QueryPerf',
    maxBytes: 1024 * KiB,
    onChunk: () => {
      throw new Error('unreadable');
    },
  });
  await assert.rejects(reading, /unreadable/);
  assert.ok(body.destroyed);
});
