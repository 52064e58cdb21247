/**
 * Concurrent scrapes share one collection, but each answers within its own deadline, and the
 * collection is cut only when no scrape waits for it any more (or its longest deadline passes).
 * A fake vCenter: the inventory read and the one collector take a set time and stop on abort.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import type { Collector } from '../../../src/collectors/collector.js';
import { MetricFamily } from '../../../src/exposition/index.js';
import { Scraper, type Collection } from '../../../src/scrape/scraper.js';
import { SoapStats } from '../../../src/scrape/self-stats.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import { assembleInventory, type Inventory } from '../../../src/vsphere/inventory.js';
import type { PerfManager } from '../../../src/vsphere/perf-manager.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { find, parsePrometheusText } from '../../harness/prom-text.js';
import { collectionText } from '../../harness/collection-text.js';

/** Resolves after `ms`, or rejects as the transport does when `signal` aborts first. */
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

interface Rig {
  scraper: Scraper;
  /** The signal of each collection's inventory read, in order (one per collection started). */
  signals: AbortSignal[];
}

/** A Scraper whose inventory read takes `inventoryMs` and whose one collector takes `collectMs`. */
function rig(opts: {
  inventoryMs: number;
  collectMs: number;
  timeoutSeconds?: number;
  timeoutSource?: string;
}): Rig {
  const signals: AbortSignal[] = [];
  const client = {
    withoutRecovery: () => client,
    session: { content: undefined, stats: { logins: 1, loginFailures: 0, relogins: 0 }, isLoggedIn: true },
  } as unknown as VimClient;
  const inventory: Inventory = assembleInventory([]);
  const collector = {
    name: 'vm',
    families: [],
    async collect(ctx, emit) {
      await work(opts.collectMs, ctx.signal);
      const f = new MetricFamily('vsphere_fake_done', 'Set when the fake collector finished.', 'gauge', []);
      f.add([], 1);
      emit(f);
    },
  } satisfies Collector;
  const scraper = new Scraper({
    client,
    inventory: {
      async fetch(signal?: AbortSignal) {
        signals.push(signal!);
        await work(opts.inventoryMs, signal!);
        return inventory;
      },
    },
    perf: {} as PerfManager,
    collectors: [collector],
    soapStats: new SoapStats(),
    timeoutSeconds: opts.timeoutSeconds ?? 10,
    ...(opts.timeoutSource ? { timeoutSource: opts.timeoutSource } : {}),
    logger: pino({ level: 'silent' }),
    version: 'test',
  });
  return { scraper, signals };
}

/** What a scrape saw: up, the last error's code and message, whether the collector's data is there. */
async function read(c: Collection): Promise<{
  up: number;
  code?: string;
  message?: string;
  data: boolean;
  timeout: number;
}> {
  const { samples } = parsePrometheusText((await collectionText(c)).toString('utf8'));
  const err = find(samples, 'vsphere_last_error_info')[0];
  return {
    up: find(samples, 'vsphere_up')[0]!.value,
    ...(err ? { code: err.labels.code!, message: err.labels.message! } : {}),
    data: find(samples, 'vsphere_fake_done').length === 1,
    timeout: find(samples, 'vsphere_scrape_timeout_seconds')[0]!.value,
  };
}

/** A scrape's answer and how long it took. */
async function timed(
  p: Promise<Collection>,
): Promise<{ seen: Awaited<ReturnType<typeof read>>; ms: number }> {
  const t0 = performance.now();
  const c = await p;
  const ms = performance.now() - t0;
  return { seen: await read(c), ms };
}

test('a short scrape that starts the collection does not cut it for a longer scrape that joins', async () => {
  const { scraper, signals } = rig({ inventoryMs: 200, collectMs: 600 });
  const short = timed(scraper.collect(0.1));
  await sleep(20);
  const long = timed(scraper.collect(5));
  const [s, l] = await Promise.all([short, long]);
  assert.equal(signals.length, 1, 'one shared collection');
  assert.equal(l.seen.up, 1, JSON.stringify(l.seen));
  assert.equal(l.seen.data, true, 'the longer scrape got the whole collection');
  assert.equal(s.seen.up, 0);
  assert.equal(s.seen.code, 'VSPHERE_TIMEOUT');
  assert.match(s.seen.message ?? '', /scrape deadline of 0\.1 s/);
  // Its own deadline (0.1 s), not the collection's end (0.8 s); wide margin for a busy machine.
  assert.ok(s.ms < l.ms, `short answered after ${s.ms.toFixed(0)} ms, long after ${l.ms.toFixed(0)} ms`);
  assert.equal(signals[0]!.aborted, false, 'the collection was never aborted');
});

test('a scrape joining a long collection answers by its own deadline; the long scrape still gets it all', async () => {
  const { scraper, signals } = rig({ inventoryMs: 100, collectMs: 2500 });
  const long = timed(scraper.collect(10));
  await sleep(50);
  const joined = timed(scraper.collect(0.5));
  const j = await joined;
  assert.equal(j.seen.up, 0);
  assert.equal(j.seen.code, 'VSPHERE_TIMEOUT');
  assert.ok(j.ms < 2000, `joined scrape answered after ${j.ms.toFixed(0)} ms (budget 0.5 s)`);
  assert.equal(signals[0]!.aborted, false, 'the collection goes on after the short scrape left');
  const l = await long;
  assert.equal(l.seen.up, 1);
  assert.equal(l.seen.data, true);
  assert.equal(signals.length, 1);
});

test('the longest waiting scrape sets the deadline: at it, the collection is aborted and answers with what was complete', async () => {
  const { scraper, signals } = rig({ inventoryMs: 50, collectMs: 30_000 });
  const a = timed(scraper.collect(0.3));
  await sleep(20);
  const b = timed(scraper.collect(0.8));
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(ra.seen.code, 'VSPHERE_TIMEOUT', 'the shorter one left at its own deadline');
  // The longer one ended the collection: the inventory was read, the collector was cut.
  assert.equal(rb.seen.up, 1, JSON.stringify(rb.seen));
  assert.equal(rb.seen.data, false);
  assert.match(String((signals[0]!.reason as Error).message), /collection deadline of 0\.8 s reached/);
  assert.ok(rb.ms < 5000, `answered after ${rb.ms.toFixed(0)} ms`);
});

test('the collection is capped by timeoutSeconds however long its scrapes may wait', async () => {
  const { scraper, signals } = rig({ inventoryMs: 50, collectMs: 30_000, timeoutSeconds: 0.4 });
  const r = await timed(scraper.collect(20));
  assert.equal(r.seen.up, 1);
  assert.equal(r.seen.data, false);
  assert.match(String((signals[0]!.reason as Error).message), /collection deadline of 0\.4 s reached/);
  assert.ok(r.ms < 5000, `answered after ${r.ms.toFixed(0)} ms`);
});

test('a scrape whose request is already aborted when it joins is not counted: the others hanging up still abort the collection', async () => {
  const { scraper, signals } = rig({ inventoryMs: 50, collectMs: 30_000 });
  const live = new AbortController();
  const first = scraper.collect(20, live.signal);
  await sleep(20);
  // E.g. a client that hung up while basic auth was still checking its password.
  const gone = new AbortController();
  gone.abort();
  const late = scraper.collect(20, gone.signal);
  live.abort();
  // The only scrape that waited is gone: the collection must stop now, not at its 20 s deadline.
  const t0 = performance.now();
  while (!signals[0]!.aborted && performance.now() - t0 < 3000) await sleep(10);
  assert.equal(signals[0]!.aborted, true, 'the collection was aborted once its only real scrape hung up');
  assert.match(String((signals[0]!.reason as Error).message), /hung up/);
  assert.equal((await read(await late)).up, 0);
  await first;
  assert.equal(signals.length, 1, 'the aborted scrape started no collection of its own');
});

test('after abort() (shutdown) a scrape starts no collection: vsphere_up 0, the exporter is shutting down', async () => {
  const { scraper, signals } = rig({ inventoryMs: 50, collectMs: 50 });
  const first = scraper.collect(5);
  scraper.abort('exporter shutting down');
  assert.equal((await read(await first)).code, 'VSPHERE_ABORTED');
  const late = await read(await scraper.collect(5));
  assert.equal(late.up, 0);
  assert.equal(late.code, 'VSPHERE_CLOSED');
  assert.match(late.message!, /no collection: exporter shutting down/);
  assert.equal(signals.length, 1, 'only the collection in flight at abort() was started');
  await scraper.idle();
});

test('an already aborted scrape with no collection in flight starts none', async () => {
  const { scraper, signals } = rig({ inventoryMs: 50, collectMs: 50 });
  const gone = new AbortController();
  gone.abort();
  const seen = await read(await scraper.collect(5, gone.signal));
  assert.equal(seen.up, 0);
  assert.equal(seen.code, 'VSPHERE_ABORTED');
  assert.equal(signals.length, 0);
  await scraper.idle();
});

test('when every waiting scrape has hung up the collection is aborted and the next scrape starts a fresh one', async () => {
  const { scraper, signals } = rig({ inventoryMs: 50, collectMs: 30_000 });
  const a = new AbortController();
  const b = new AbortController();
  const pa = scraper.collect(20, a.signal);
  const pb = scraper.collect(20, b.signal);
  await sleep(20);
  a.abort();
  await pa;
  assert.equal(signals[0]!.aborted, false, 'one scrape still waits');
  b.abort();
  await pb;
  assert.equal(signals[0]!.aborted, true);
  const next = scraper.collect(0.3);
  assert.equal((await read(await next)).up, 1);
  assert.equal(signals.length, 2, 'a fresh collection');
  await scraper.idle();
});

test('background mode waits for its whole collection, even when a longer scrape extended it past its budget', async () => {
  const { scraper, signals } = rig({ inventoryMs: 50, collectMs: 600 });
  const background = scraper.collectFully(0.3);
  await sleep(20);
  const scrape = scraper.collect(5);
  const [b, s] = await Promise.all([background, scrape]);
  // The same collection for both, complete: not a deadline answer the background would then serve.
  assert.equal(b, s);
  const seen = await read(b);
  assert.deepEqual([seen.up, seen.data], [1, true]);
  // The scrape that joined 20 ms in extended the deadline to its own 5 s.
  assert.ok(seen.timeout > 5 && seen.timeout < 5.5, `vsphere_scrape_timeout_seconds ${seen.timeout}`);
  assert.equal(signals.length, 1);
});

const NO_HEADER = 'scrape.timeout_seconds; no X-Prometheus-Scrape-Timeout-Seconds header';

test('the deadline message names where the deadline came from; vsphere_scrape_timeout_seconds is that deadline', async () => {
  const { scraper, signals } = rig({ inventoryMs: 50, collectMs: 30_000 });
  const r = await read(await scraper.collect(0.5, undefined, NO_HEADER));
  assert.equal(r.up, 1);
  assert.equal(r.data, false);
  assert.equal(
    String((signals[0]!.reason as Error).message),
    `collection deadline of 0.5 s reached (${NO_HEADER})`,
  );
  assert.ok(Math.abs(r.timeout - 0.5) < 0.05, `vsphere_scrape_timeout_seconds ${r.timeout}`);
  assert.equal(scraper.last?.deadline?.source, NO_HEADER);
});

test('a deadline cut by the cap names the cap and exports the capped deadline', async () => {
  const { scraper, signals } = rig({
    inventoryMs: 50,
    collectMs: 30_000,
    timeoutSeconds: 0.4,
    timeoutSource: 'scrape.max_timeout_seconds',
  });
  const r = await read(
    await scraper.collect(20, undefined, 'X-Prometheus-Scrape-Timeout-Seconds 20.5 minus …'),
  );
  assert.match(
    String((signals[0]!.reason as Error).message),
    /^collection deadline of 0\.4 s reached \(scrape\.max_timeout_seconds\)$/,
  );
  assert.ok(Math.abs(r.timeout - 0.4) < 0.05, `vsphere_scrape_timeout_seconds ${r.timeout}`);
});

test('every answer carries its deadline: the full collection the longest, a scrape that left its own', async () => {
  const { scraper } = rig({ inventoryMs: 50, collectMs: 800 });
  const long = scraper.collect(5);
  await sleep(20);
  const short = await read(await scraper.collect(0.2));
  assert.equal(short.up, 0);
  assert.equal(short.timeout, 0.2);
  const l = await read(await long);
  assert.equal(l.data, true);
  assert.ok(Math.abs(l.timeout - 5) < 0.05, `vsphere_scrape_timeout_seconds ${l.timeout}`);
});

test('a collection only gzip scrapes wait for is held as gzip; a scrape wanting text that joins in time keeps its text', async () => {
  const { scraper } = rig({ inventoryMs: 30, collectMs: 30 });
  const gzipped = await scraper.collect(5, undefined, undefined, { gzip: true });
  assert.equal(gzipped.body.length, 0, 'no text held');
  assert.ok(gzipped.plain !== undefined, 'held compressed');
  const text = await collectionText(gzipped);
  assert.deepEqual(gunzipSync(await gzipped.gzip()), text);
  assert.equal((await read(gzipped)).data, true);

  const [a, b] = await Promise.all([
    scraper.collect(5, undefined, undefined, { gzip: true }),
    scraper.collect(5, undefined, undefined, { gzip: false }),
  ]);
  assert.equal(a, b, 'one shared collection');
  assert.ok(a.body.length > 0 && !a.plain, 'its text is held');
  assert.deepEqual(gunzipSync(await a.gzip()), Buffer.concat(a.body));
  assert.equal((await read(a)).data, true);
});
