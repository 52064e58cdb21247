/**
 * On-scrape mode with run-on: a collection slower than its scrape is not thrown away. It runs on to
 * its own deadline; a scrape whose deadline passes answers the last complete collection (kept
 * gzipped) when there is one young enough, and the next scrape gets the finished collection. A fake
 * vCenter: the inventory read and the one collector take set times (changeable between collections)
 * and stop on abort.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { Collector } from '../../../src/collectors/collector.js';
import { MetricFamily } from '../../../src/exposition/index.js';
import { Scraper, type Collection } from '../../../src/scrape/scraper.js';
import { SoapStats } from '../../../src/scrape/self-stats.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import { assembleInventory } from '../../../src/vsphere/inventory.js';
import type { PerfManager } from '../../../src/vsphere/perf-manager.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { find, parsePrometheusText } from '../../harness/prom-text.js';
import { collectionText } from '../../harness/collection-text.js';

function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (): void => {
      clearTimeout(timer);
      const why = signal.reason instanceof Error ? signal.reason.message : 'aborted';
      reject(new VsphereError('VSPHERE_ABORTED', `fake: ${why}`));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', fail);
      resolve();
    }, ms);
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/** A Scraper with run-on whose collector takes `timing.collectMs` (read at each collection's start). */
function rig(runOnSeconds: number, timing: { collectMs: number }) {
  const signals: AbortSignal[] = [];
  const client = {
    withoutRecovery: () => client,
    session: { content: undefined, stats: { logins: 1, loginFailures: 0, relogins: 0 }, isLoggedIn: true },
  } as unknown as VimClient;
  const collector = {
    name: 'vm',
    families: [],
    async collect(ctx, emit) {
      const n = signals.length;
      await work(timing.collectMs, ctx.signal);
      // Which collection this is (1, 2, …): tells a kept answer from a fresh one.
      const f = new MetricFamily('vsphere_fake_collection', 'Number of the fake collection.', 'gauge', []);
      f.add([], n);
      emit(f);
    },
  } satisfies Collector;
  const scraper = new Scraper({
    client,
    inventory: {
      async fetch(signal?: AbortSignal) {
        signals.push(signal!);
        await work(20, signal!);
        return assembleInventory([]);
      },
    },
    perf: {} as PerfManager,
    collectors: [collector],
    soapStats: new SoapStats(),
    timeoutSeconds: 120,
    timeoutSource: 'scrape.max_timeout_seconds',
    runOn: { seconds: runOnSeconds, source: 'scrape.collection_timeout_seconds' },
    logger: pino({ level: 'silent' }),
    version: 'test',
  });
  return { scraper, signals };
}

/** What an answer says: up, its error code, which fake collection it carries (0: none). */
async function read(c: Collection): Promise<{ up: number; code?: string; collection: number }> {
  const text = await collectionText(c);
  const { samples } = parsePrometheusText(text.toString('utf8'));
  // The kept gzip is the same exposition.
  assert.deepEqual(gunzipSync(await c.gzip()), text);
  const code = find(samples, 'vsphere_last_error_info')[0]?.labels.code;
  return {
    up: find(samples, 'vsphere_up')[0]!.value,
    ...(code ? { code } : {}),
    collection: find(samples, 'vsphere_fake_collection')[0]?.value ?? 0,
  };
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const t0 = performance.now();
  while (!ok()) {
    if (performance.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('without a complete collection a late scrape answers vsphere_up 0; the collection runs on and the next scrape gets it', async () => {
  const { scraper, signals } = rig(10, { collectMs: 700 });
  const first = await read(await scraper.collect(0.2));
  assert.deepEqual([first.up, first.code], [0, 'VSPHERE_TIMEOUT']);
  assert.equal(signals[0]!.aborted, false, 'not cut at the scrape deadline');
  const next = await read(await scraper.collect(5));
  assert.deepEqual([next.up, next.collection], [1, 1], 'the next scrape joined the running collection');
  assert.equal(signals.length, 1);
  assert.equal(scraper.staleAnswers, 0);
});

test('a late scrape answers the last complete collection, marked stale; the slow one completes for the next scrape', async () => {
  const timing = { collectMs: 50 };
  const { scraper, signals } = rig(10, timing);
  assert.equal((await read(await scraper.collect(5))).collection, 1);
  timing.collectMs = 800;
  const t0 = performance.now();
  const late = await scraper.collect(0.2);
  const ms = performance.now() - t0;
  const seen = await read(late);
  assert.deepEqual([seen.up, seen.collection], [1, 1], 'the previous complete collection');
  assert.ok(ms < 700, `answered after ${ms.toFixed(0)} ms, before the 800 ms collection`);
  assert.ok(late.plain !== undefined, 'kept compressed');
  assert.equal(scraper.staleAnswers, 1);
  await until(
    'the slow collection to finish',
    () =>
      scraper.last?.finishedAt !== undefined &&
      signals.length === 2 &&
      scraper.last.finishedAt > late.finishedAt,
  );
  assert.equal(signals[1]!.aborted, false);
  // Finished: the next scrape starts a fresh collection, and while that one is late it answers
  // the slow collection that completed after its own scrape had answered.
  const again = await read(await scraper.collect(0.2));
  assert.deepEqual([again.up, again.collection], [1, 2]);
  assert.equal(scraper.staleAnswers, 2);
  await scraper.idle();
});

test('the run-on deadline stops a collection nobody waits for; a cut collection is never answered again', async () => {
  const timing = { collectMs: 30 };
  const { scraper, signals } = rig(0.6, timing);
  assert.equal((await read(await scraper.collect(5))).collection, 1);
  timing.collectMs = 30_000;
  assert.equal((await read(await scraper.collect(0.1))).collection, 1);
  await until('the run-on deadline', () => signals[1]!.aborted, 5000);
  assert.match(
    String((signals[1]!.reason as Error).message),
    /^collection deadline of 0\.6 s reached \(scrape\.collection_timeout_seconds; it ran on after its scrapes answered\)$/,
  );
  await scraper.idle();
  // Collection 1 is now older than the run-on time: too old to answer; collection 2 was cut.
  const seen = await read(await scraper.collect(0.1));
  assert.deepEqual([seen.up, seen.code, seen.collection], [0, 'VSPHERE_TIMEOUT', 0]);
  assert.equal(signals.length, 3, 'a fresh collection');
  scraper.abort('test over');
  await scraper.idle();
});

test('every scrape hanging up before any deadline still aborts the collection; after a deadline it runs on', async () => {
  const { scraper, signals } = rig(10, { collectMs: 30_000 });
  const gone = new AbortController();
  const p = scraper.collect(20, gone.signal);
  await sleep(30);
  gone.abort();
  assert.equal((await read(await p)).code, 'VSPHERE_ABORTED');
  await until('the abort', () => signals[0]!.aborted);
  assert.match(String((signals[0]!.reason as Error).message), /hung up/);
  // A scrape leaves at its deadline; another joins and hangs up: the collection runs on.
  await scraper.idle();
  await scraper.collect(0.1);
  const second = new AbortController();
  const q = scraper.collect(20, second.signal);
  await sleep(20);
  second.abort();
  await q;
  await sleep(50);
  assert.equal(signals.length, 2);
  assert.equal(signals[1]!.aborted, false, 'runs on for the next scrape');
  // Shutdown still stops it at once.
  scraper.abort('exporter shutting down');
  assert.equal(signals[1]!.aborted, true);
  await scraper.idle();
});

test('when the kept collection took longer than the scrape may wait, a late scrape answers it at once and the new one still runs', async () => {
  const timing = { collectMs: 900 };
  const { scraper, signals } = rig(10, timing);
  assert.equal((await read(await scraper.collect(5))).collection, 1);
  const t0 = performance.now();
  const seen = await read(await scraper.collect(1));
  const ms = performance.now() - t0;
  assert.deepEqual([seen.up, seen.collection], [1, 1]);
  // Not at its 1 s deadline: the rest of its timeout is left to sending a (large) answer.
  assert.ok(ms < 500, `answered after ${ms.toFixed(0)} ms`);
  assert.equal(signals.length, 2, 'its own collection started');
  assert.equal(signals[1]!.aborted, false);
  await until(
    'the new collection to finish',
    () => (scraper.last?.durationSeconds ?? 0) > 0.8 && scraper.staleAnswers === 1,
  );
  await scraper.idle();
  assert.equal(signals[1]!.aborted, false, 'it ran to its end');
  assert.equal((await read(await scraper.collect(0.1))).collection, 2);
  scraper.abort('test over');
  await scraper.idle();
});
