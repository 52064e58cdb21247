/**
 * Concurrent scrapes share one collection, yet each is answered within its own
 * X-Prometheus-Scrape-Timeout-Seconds, and a short one never cuts a longer one's work. vCenter is
 * vcsim with added latency (so a collection takes a measurable time) behind the fault proxy, which
 * counts the collections' vCenter calls.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, type Sample } from '../harness/prom-text.js';
import { exporterEnv, metric, timedScrape } from '../harness/env.js';

type Scrape = Awaited<ReturnType<typeof timedScrape>>;

/** vcsim started with `vcsimArgs`, the fault proxy in front, an exporter (with `yaml` as its config file) behind. */
async function rig(vcsimArgs: string[], yaml?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'vsx-deadlines-'));
  const vc: Vcsim = await startVcsim({ args: vcsimArgs });
  const proxy: FaultProxy = await startFaultProxy(vc.url);
  const args: string[] = [];
  if (yaml) {
    writeFileSync(join(dir, 'config.yml'), yaml);
    args.push(`--config.file=${join(dir, 'config.yml')}`);
  }
  const exporter: ExporterProcess = await startExporter({
    env: { ...exporterEnv(vc, dir), VSPHERE_URL: proxy.url },
    args,
  });
  return {
    vc,
    proxy,
    exporter,
    dir,
    async close() {
      await exporter.stop();
      await proxy.close();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const lastError = (samples: Sample[]): { code?: string; message?: string } => {
  const e = find(samples, 'vsphere_last_error_info')[0];
  return { code: e?.labels.code, message: e?.labels.message };
};

describe('scrape deadlines: a stream of 0.01 s timeout headers beside 10 s scrapes (collection ≈ 1.5 s)', () => {
  let r: Awaited<ReturnType<typeof rig>>;
  before(async () => {
    r = await rig(['-method-delay', 'WaitForUpdatesEx:300,QueryPerf:1000']);
    // First collection (logs in, reads the counter catalogue, starts the inventory watch).
    assert.equal(metric((await timedScrape(r.exporter)).samples, 'vsphere_up'), 1);
  });
  after(async () => {
    await r?.close();
  });

  test('every 10 s scrape answers vsphere_up 1; the short ones answer at their own deadline', async (t) => {
    r.proxy.resetCounts();
    const shorts: Promise<Scrape>[] = [];
    const longs: Promise<Scrape>[] = [];
    // 10 short scrapes per second for 4 s; a 10 s scrape 30 ms after every fourth, so each joins
    // (or follows) a collection a short scrape started.
    for (let i = 0; i < 40; i++) {
      shorts.push(timedScrape(r.exporter, { 'X-Prometheus-Scrape-Timeout-Seconds': '0.01' }));
      if (i % 4 === 0) {
        await sleep(30);
        longs.push(timedScrape(r.exporter, { 'X-Prometheus-Scrape-Timeout-Seconds': '10' }));
        await sleep(70);
      } else {
        await sleep(100);
      }
    }
    const [s, l] = await Promise.all([Promise.all(shorts), Promise.all(longs)]);
    for (const a of [...s, ...l]) assert.equal(a.status, 200);
    const bad = l
      .map((a) => ({ up: metric(a.samples, 'vsphere_up'), ...lastError(a.samples) }))
      .filter((a) => a.up !== 1);
    assert.deepEqual(bad, [], `${bad.length} of ${l.length} 10 s scrapes not up`);
    for (const a of l) assert.equal(metric(a.samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
    // A short scrape answers by its own deadline (0.1 s) with the last complete collection (the
    // first scrape's or a later one), marked with its age, and leaves the shared collection running
    // on for the others. None waits for a collection it shares (≈ 1.5 s; bound wide for a busy machine).
    const shortUp0 = s.filter((a) => metric(a.samples, 'vsphere_up') === 0);
    const timedOut = shortUp0.filter((a) => lastError(a.samples).code === 'VSPHERE_TIMEOUT');
    assert.deepEqual(
      shortUp0.map((a) => lastError(a.samples)),
      [],
      'a complete collection exists: no short scrape answers vsphere_up 0',
    );
    const kept = s.filter((a) => metric(a.samples, 'vsphere_collection_age_seconds') > 0.05);
    assert.ok(kept.length > 0, 'short scrapes answered the last complete collection at their own deadline');
    assert.ok(metric(s.at(-1)!.samples, 'vsphere_scrape_stale_answers_total') >= kept.length);
    const slowestShort = Math.max(...s.map((a) => a.ms));
    const fastestLong = Math.min(...l.map((a) => a.ms));
    assert.ok(slowestShort < 5000, `short scrapes took up to ${slowestShort.toFixed(0)} ms`);
    const inventoryReads = r.proxy.counts().WaitForUpdatesEx ?? 0;
    assert.ok(
      inventoryReads < l.length + s.length,
      `${inventoryReads} inventory reads: collections were shared`,
    );
    t.diagnostic(
      `${l.length} × 10 s scrapes all up (${fastestLong.toFixed(0)}–${Math.max(...l.map((a) => a.ms)).toFixed(0)} ms); ` +
        `${s.length} × 0.01 s scrapes: ${shortUp0.length} answered vsphere_up 0 (${timedOut.length} VSPHERE_TIMEOUT), ${kept.length} the last complete collection, slowest ` +
        `${slowestShort.toFixed(0)} ms; ${inventoryReads} inventory reads`,
    );
  });
});

describe('scrape deadlines: a 5 s scrape joins a header-less collection (timeout_seconds 20, QueryPerf takes 7 s)', () => {
  let r: Awaited<ReturnType<typeof rig>>;
  before(async () => {
    r = await rig(['-method-delay', 'QueryPerf:7000'], 'scrape:\n  timeout_seconds: 20\n');
    assert.equal(metric((await timedScrape(r.exporter)).samples, 'vsphere_up'), 1);
  });
  after(async () => {
    await r?.close();
  });

  test('the 5 s scrape answers by its own deadline with the previous complete collection; the long scrape still gets the new one', async (t) => {
    r.proxy.resetCounts();
    const long = timedScrape(r.exporter);
    // Joins once the collection waits for vCenter's QueryPerf.
    const t0 = performance.now();
    while ((r.proxy.counts().QueryPerf ?? 0) < 1 && performance.now() - t0 < 5000) await sleep(20);
    assert.ok((r.proxy.counts().QueryPerf ?? 0) >= 1, 'the long collection reached QueryPerf');
    const short = await timedScrape(r.exporter, { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
    assert.equal(short.status, 200);
    // Its budget is 4.5 s; Prometheus gives up at 5 s. Wide margin for a busy machine, still well
    // short of the collection's 7 s.
    assert.ok(short.ms < 6000, `the 5 s scrape answered after ${short.ms.toFixed(0)} ms`);
    // The collection before() made, marked with its age (it finished before this test began).
    assert.equal(metric(short.samples, 'vsphere_up'), 1);
    const age = metric(short.samples, 'vsphere_collection_age_seconds');
    assert.ok(age > 0, `age ${age} s`);
    assert.equal(metric(short.samples, 'vsphere_scrape_stale_answers_total'), 1);
    const l = await long;
    assert.equal(l.status, 200);
    assert.equal(metric(l.samples, 'vsphere_up'), 1);
    assert.equal(metric(l.samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
    assert.equal(metric(l.samples, 'vsphere_collector_success', { collector: 'host' }), 1);
    assert.equal(r.proxy.counts().WaitForUpdatesEx, 1, 'one collection, shared');
    assert.ok(l.ms > short.ms, `long answered after ${l.ms.toFixed(0)} ms`);
    assert.ok(
      metric(l.samples, 'vsphere_collection_age_seconds') < 1,
      'the long scrape got the new collection',
    );
    t.diagnostic(
      `5 s scrape: the previous collection (${age.toFixed(1)} s old) after ${short.ms.toFixed(0)} ms; ` +
        `header-less scrape: vsphere_up 1 after ${l.ms.toFixed(0)} ms`,
    );
  });

  test('background mode: a 5 s scrape before the first collection finished answers by its own deadline; the collection completes', async (t) => {
    const yaml = 'scrape:\n  timeout_seconds: 20\n  collection: background\n  interval_seconds: 60\n';
    const file = join(r.dir, 'background.yml');
    writeFileSync(file, yaml);
    const bg = await startExporter({
      env: { ...exporterEnv(r.vc, r.dir), VSPHERE_URL: r.proxy.url },
      args: [`--config.file=${file}`],
    });
    try {
      const t0 = performance.now();
      const short = await timedScrape(bg, { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
      assert.equal(short.status, 200);
      assert.ok(short.ms < 6000, `the 5 s scrape answered after ${short.ms.toFixed(0)} ms`);
      assert.equal(metric(short.samples, 'vsphere_up'), 0);
      assert.equal(lastError(short.samples).code, 'VSPHERE_TIMEOUT');
      // The background collection went on: once done, it is served whole.
      let next: Scrape | undefined;
      while (performance.now() - t0 < 20_000) {
        next = await timedScrape(bg, { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
        if (metric(next.samples, 'vsphere_up') === 1) break;
      }
      assert.equal(metric(next!.samples, 'vsphere_up'), 1);
      assert.equal(metric(next!.samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
      t.diagnostic(
        `background: 5 s scrape vsphere_up 0 after ${short.ms.toFixed(0)} ms; first collection served whole ` +
          `${((performance.now() - t0) / 1000).toFixed(1)} s after the exporter was ready`,
      );
    } finally {
      await bg.stop();
    }
  });
});
