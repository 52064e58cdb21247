/** withinMs: the limit fires the work's signal; the caller's signal does too; nothing outlives the work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withinMs } from '../../../src/vsphere/waits.js';

const untilAborted = (s: AbortSignal): Promise<never> =>
  new Promise((_, reject) => s.addEventListener('abort', () => reject(new Error('cut')), { once: true }));

test("withinMs: work that never ends is cut at the limit; the caller's signal cuts it sooner", async () => {
  const t0 = performance.now();
  await assert.rejects(withinMs(undefined, 30, untilAborted), /cut/);
  assert.ok(performance.now() - t0 >= 25);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 10);
  const t1 = performance.now();
  await assert.rejects(withinMs(ac.signal, 60_000, untilAborted), /cut/);
  assert.ok(performance.now() - t1 < 30_000, 'not held to the limit');
});

test("withinMs: quick work returns its value; its signal has fired by then and the caller's has not", async () => {
  const caller = new AbortController();
  let seen: AbortSignal | undefined;
  const v = await withinMs(caller.signal, 60_000, (s) => {
    seen = s;
    return Promise.resolve(42);
  });
  assert.equal(v, 42);
  assert.equal(seen?.aborted, true);
  assert.equal(caller.signal.aborted, false);
  // No 60 s timer is left: the test runner would otherwise wait for it (node:test waits for refs).
});
