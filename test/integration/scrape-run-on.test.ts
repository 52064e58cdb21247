/**
 * A collection slower than its scrape is not thrown away (on-scrape mode, the default): the scrape
 * answers the last complete collection within its own deadline, marked with its age and counted in
 * vsphere_scrape_stale_answers_total; the slow collection runs on and the next scrape has it; and
 * scrape.collection_timeout_seconds stops one that runs on too long. vcsim behind the fault proxy,
 * which delays QueryPerf.
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

const HEADER = 'X-Prometheus-Scrape-Timeout-Seconds';
const RUN_ON_SECONDS = 8;

const code = (samples: Sample[]): string | undefined =>
  find(samples, 'vsphere_last_error_info')[0]?.labels.code;

describe(`a collection slower than its scrape runs on (scrape.collection_timeout_seconds ${RUN_ON_SECONDS})`, () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let exporter: ExporterProcess;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-run-on-'));
    vc = await startVcsim();
    proxy = await startFaultProxy(vc.url);
    writeFileSync(join(dir, 'config.yml'), `scrape:\n  collection_timeout_seconds: ${RUN_ON_SECONDS}\n`);
    exporter = await startExporter({
      env: { ...exporterEnv(vc, dir), VSPHERE_URL: proxy.url },
      args: [`--config.file=${join(dir, 'config.yml')}`],
    });
  });
  after(async () => {
    await exporter?.stop();
    await proxy?.close();
    await vc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a late scrape answers the previous complete collection with its age; the slow one completes and the next scrape has it; the cap stops it', async (t) => {
    // A complete collection to fall back on.
    const first = await timedScrape(exporter, { [HEADER]: '10' });
    assert.equal(metric(first.samples, 'vsphere_up'), 1);
    assert.ok(metric(first.samples, 'vsphere_collection_age_seconds') < 1, 'a fresh answer is about 0 s old');
    assert.equal(metric(first.samples, 'vsphere_scrape_stale_answers_total'), 0);
    const firstDuration = metric(first.samples, 'vsphere_scrape_duration_seconds');

    // Every QueryPerf now takes 4 s: a collection outlasts a 2 s scrape (budget 1.5 s).
    proxy.addRule({ method: 'QueryPerf', fault: 'delay', delayMs: 4000 });
    const late = await timedScrape(exporter, { [HEADER]: '2' });
    assert.equal(late.status, 200);
    assert.ok(late.ms < 3500, `answered within its deadline: ${late.ms.toFixed(0)} ms`);
    assert.equal(metric(late.samples, 'vsphere_up'), 1, 'the previous complete collection');
    assert.equal(metric(late.samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
    assert.equal(
      metric(late.samples, 'vsphere_scrape_duration_seconds'),
      firstDuration,
      'the same collection',
    );
    const age = metric(late.samples, 'vsphere_collection_age_seconds');
    // It waited half its budget for its own collection (the kept one took less than that).
    assert.ok(age > 0.5, `its age says how old it is: ${age} s`);
    assert.equal(metric(late.samples, 'vsphere_scrape_stale_answers_total'), 1);

    // The next scrape joins the slow collection, which was not cut at the late scrape's deadline.
    const next = await timedScrape(exporter, { [HEADER]: '10' });
    assert.equal(metric(next.samples, 'vsphere_up'), 1);
    assert.equal(metric(next.samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
    assert.equal(metric(next.samples, 'vsphere_collector_success', { collector: 'host' }), 1);
    const slow = metric(next.samples, 'vsphere_scrape_duration_seconds');
    assert.ok(slow > 3.5, `the slow collection, complete: ${slow} s`);
    assert.ok(metric(next.samples, 'vsphere_collection_age_seconds') < 1);
    assert.equal(metric(next.samples, 'vsphere_scrape_stale_answers_total'), 1);
    assert.ok(!exporter.logs.some((l) => l.msg === 'collector failed'), 'no collector was cut');

    // QueryPerf now never answers in time: the collection runs on to its own deadline and no further.
    proxy.clearRules();
    proxy.addRule({ method: 'QueryPerf', fault: 'delay', delayMs: 60_000 });
    const t0 = performance.now();
    const stuck = await timedScrape(exporter, { [HEADER]: '2' });
    assert.equal(metric(stuck.samples, 'vsphere_up'), 1, 'the slow collection, answered again');
    assert.equal(metric(stuck.samples, 'vsphere_scrape_duration_seconds'), slow);
    // Run-on and the cap are both 8 s here: the run-on setting is the one named.
    const cut =
      /collection deadline of 8\.0 s reached \(scrape\.collection_timeout_seconds; it ran on after its scrapes answered\)/;
    const wasCut = (): boolean =>
      exporter.logs.some((l) => l.msg === 'collector failed' && cut.test(JSON.stringify(l)));
    while (performance.now() - t0 < (RUN_ON_SECONDS + 8) * 1000) {
      if (wasCut()) break;
      await sleep(200);
    }
    const stoppedAfter = (performance.now() - t0) / 1000;
    assert.ok(
      wasCut(),
      `the cap stopped it: ${JSON.stringify(exporter.logs.filter((l) => l.msg === 'collector failed'))}`,
    );
    // Past the run-on time the kept collection is too old to stand for vCenter: vsphere_up 0.
    await sleep(Math.max(0, (RUN_ON_SECONDS + 1) * 1000 - (performance.now() - t0)));
    const old = await timedScrape(exporter, { [HEADER]: '2' });
    assert.equal(metric(old.samples, 'vsphere_up'), 0);
    assert.equal(code(old.samples), 'VSPHERE_TIMEOUT');
    assert.equal(metric(old.samples, 'vsphere_scrape_stale_answers_total'), 2);
    t.diagnostic(
      `late scrape: previous collection (${age.toFixed(1)} s old) after ${late.ms.toFixed(0)} ms; ` +
        `next scrape: the slow collection (${slow.toFixed(1)} s) after ${next.ms.toFixed(0)} ms; ` +
        `stuck collection stopped ${stoppedAfter.toFixed(1)} s after its scrape started`,
    );
  });
});
