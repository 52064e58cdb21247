/**
 * A full inventory read outlives the scrape that started it: the first WaitForUpdatesEx of a
 * session (and a resync after a dropped watch) is held at the fault proxy past a short scrape
 * deadline. The scrape answers `vsphere_up 0` with VSPHERE_INVENTORY_LOADING and the read's
 * progress; a later scrape uses the read without starting another; a shutdown during the read
 * exits promptly, its collector and view destroyed and no session left.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, type Sample } from '../harness/prom-text.js';
import { exporterEnv, metric, timedScrape, userSessions } from '../harness/env.js';

// The scrape deadline (no timeout header); the held read takes several times longer.
const SCRAPE_SECONDS = 2;
const HOLD_MS = 8000;

const up = (samples: Sample[]): number | undefined => find(samples, 'vsphere_up')[0]?.value;
const lastError = (samples: Sample[]): Record<string, string> | undefined =>
  find(samples, 'vsphere_last_error_info')[0]?.labels;

describe('a full inventory read outlives the scrape that started it (scrape.timeout_seconds 2, first read held 8 s)', () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let dir: string;
  let env: Record<string, string>;
  let args: string[];
  let exporter: ExporterProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-bgload-'));
    vc = await startVcsim();
    proxy = await startFaultProxy(vc.url);
    env = { ...exporterEnv(vc, dir), VSPHERE_URL: proxy.url };
    const cfg = join(dir, 'config.yml');
    writeFileSync(cfg, `scrape:\n  timeout_seconds: ${SCRAPE_SECONDS}\n`);
    args = ['--config.file', cfg];
  });
  after(async () => {
    await exporter?.stop();
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Scrapes until vsphere_up is 1 (at most `seconds`); returns that scrape and how many it took. */
  async function untilUp(e: ExporterProcess, seconds: number) {
    const by = Date.now() + seconds * 1000;
    for (let n = 1; ; n++) {
      const r = await timedScrape(e);
      if (up(r.samples) === 1 || Date.now() > by) return { r, n };
      await sleep(500);
    }
  }

  test('the first scrape answers "inventory loading" within its deadline; a later one uses the read, no second read', async (t) => {
    proxy.resetCounts();
    proxy.addRule({ method: 'WaitForUpdatesEx', fault: 'delay', delayMs: HOLD_MS, times: 1 });
    exporter = await startExporter({ env, args });
    const t0 = performance.now();
    const first = await timedScrape(exporter);
    assert.equal(first.status, 200);
    assert.equal(up(first.samples), 0);
    const err = lastError(first.samples);
    assert.equal(err?.code, 'VSPHERE_INVENTORY_LOADING', JSON.stringify(err));
    assert.match(
      err?.message ?? '',
      /^inventory loading: 0 objects read after \d+ s \(first read of this session/,
    );
    assert.ok(first.ms < HOLD_MS, `answered at its own deadline, not the read's (${first.ms.toFixed(0)} ms)`);
    // The status page tells the same.
    const page = await exporter.scrape('/');
    assert.match(page.text, /VSPHERE_INVENTORY_LOADING/);

    // Another scrape while the read runs joins it: still loading, no new collector.
    const second = await timedScrape(exporter);
    assert.equal(up(second.samples), 0);
    assert.equal(lastError(second.samples)?.code, 'VSPHERE_INVENTORY_LOADING');

    const { r: ready, n } = await untilUp(exporter, 30);
    const readyAfter = (performance.now() - t0) / 1000;
    assert.equal(up(ready.samples), 1, JSON.stringify(lastError(ready.samples)));
    assert.ok(readyAfter * 1000 >= HOLD_MS, 'the read was held');
    assert.equal(find(ready.samples, 'vsphere_vm_info').length, vc.inventory.vms.length);
    const c = proxy.counts();
    assert.equal(c.CreatePropertyCollector, 1, 'one full read: the scrapes did not start another');
    assert.equal(c.CreateFilter, 1);
    // The held read, plus an update read when the scrape that answered started after it ended.
    assert.ok(c.WaitForUpdatesEx === 1 || c.WaitForUpdatesEx === 2, JSON.stringify(c));
    t.diagnostic(
      `first scrape ${first.ms.toFixed(0)} ms: ${err?.message}; vsphere_up 1 after ${readyAfter.toFixed(1)} s ` +
        `(${n + 2} scrapes); calls ${JSON.stringify(c)}`,
    );
  });

  test('a dropped watch is read again in the background; the scrape says how far, of how many objects', async (t) => {
    assert.ok(exporter, 'the previous test left its exporter running');
    assert.equal(up((await timedScrape(exporter)).samples), 1);
    // That scrape may have answered the kept collection at once: let the one it started finish first.
    await sleep(1500);
    proxy.resetCounts();
    // The update read fails (connection reset): the watch is dropped and read again, held.
    proxy.addRule({ method: 'WaitForUpdatesEx', fault: 'reset-headers', times: 1 });
    proxy.addRule({ method: 'WaitForUpdatesEx', fault: 'delay', delayMs: HOLD_MS, times: 1 });
    const r = await timedScrape(exporter);
    // The collection waits for the read past the scrape's deadline; meanwhile the scrape answers the
    // last complete collection, marked with its age (the default on-scrape mode's run-on).
    assert.equal(up(r.samples), 1);
    assert.ok(metric(r.samples, 'vsphere_collection_age_seconds') > 0);
    assert.ok(metric(r.samples, 'vsphere_scrape_stale_answers_total') >= 1);
    // The status page says how far the read is. The count of the previous read is known: "N of M"
    // (vcsim's default model: VMs, hosts and the rest of its view).
    // The scrape may have answered before the collection found the watch dropped: look for a while.
    let page = '';
    let err: string | undefined;
    for (let i = 0; i < 50 && err === undefined; i++) {
      if (i > 0) await sleep(100);
      page = (await exporter.scrape('/')).text;
      err = /VSPHERE_INVENTORY_LOADING<\/code> ([^<]*)/.exec(page)?.[1];
    }
    assert.match(
      err ?? '',
      /^inventory loading: 0 of \d+ objects after \d+ s \(resync after a dropped watch/,
      page,
    );
    // Once read, a scrape gets a fresh collection.
    let ready = r;
    for (let i = 0; i < 60 && metric(ready.samples, 'vsphere_collection_age_seconds') > 0.5; i++) {
      await sleep(500);
      ready = await timedScrape(exporter);
    }
    assert.equal(up(ready.samples), 1, JSON.stringify(lastError(ready.samples)));
    assert.ok(metric(ready.samples, 'vsphere_collection_age_seconds') <= 0.5);
    assert.equal(find(ready.samples, 'vsphere_vm_info').length, vc.inventory.vms.length);
    const c = proxy.counts();
    assert.equal(c.CreatePropertyCollector, 1, 'one new watch');
    // The dropped watch's collector is destroyed, not left behind.
    assert.ok((c.DestroyPropertyCollector ?? 0) >= 1, JSON.stringify(c));
    t.diagnostic(`${err}; calls ${JSON.stringify(c)}`);
    await exporter.stop();
    exporter = undefined;
  });

  test('shutdown during the read: the exporter exits promptly, the read stopped, its collector destroyed, no session left', async (t) => {
    assert.equal((await userSessions(vc)).length, 0, 'no session before');
    proxy.resetCounts();
    // Held far longer than the shutdown may take.
    proxy.addRule({ method: 'WaitForUpdatesEx', fault: 'delay', delayMs: 120_000, times: 1 });
    const e = await startExporter({ env, args });
    exporter = e;
    const r = await timedScrape(e);
    assert.equal(lastError(r.samples)?.code, 'VSPHERE_INVENTORY_LOADING');
    assert.equal((await userSessions(vc)).length, 1, 'the read holds the session');
    const t0 = performance.now();
    const exit = await e.stop();
    const stopMs = performance.now() - t0;
    exporter = undefined;
    assert.equal(exit.code, 0, JSON.stringify(exit));
    // Bounded by the shutdown's own deadline (a few seconds), not by the 120 s read.
    assert.ok(stopMs < 10_000, `exited after ${stopMs.toFixed(0)} ms`);
    assert.deepEqual(await userSessions(vc), [], 'no session left');
    const c = proxy.counts();
    assert.equal(c.CreatePropertyCollector, 1);
    assert.equal(c.DestroyPropertyCollector, 1, `collector destroyed before Logout: ${JSON.stringify(c)}`);
    assert.equal(c.Logout, 1);
    t.diagnostic(`exited ${stopMs.toFixed(0)} ms after SIGTERM; calls ${JSON.stringify(c)}`);
  });
});
