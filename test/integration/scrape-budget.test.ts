/**
 * Prometheus' X-Prometheus-Scrape-Timeout-Seconds is the operator's stated budget: honoured (minus
 * the offset) under scrape.max_timeout_seconds with environment-only configuration, as in the
 * README quick start; scrape.timeout_seconds applies to scrapes without the header; every answer
 * carries the deadline that applied (vsphere_scrape_timeout_seconds). vCenter is vcsim with QueryPerf
 * slowed down, so a whole collection takes longer than the old 10 s cap.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { exporterEnv, metric, timedScrape } from '../harness/env.js';

const HEADER = 'X-Prometheus-Scrape-Timeout-Seconds';

/** vcsim with `vcsimArgs` and an exporter configured by environment and `args` only (no config file). */
async function rig(vcsimArgs: string[], env: Record<string, string> = {}, args: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'vsx-budget-'));
  const vc: Vcsim = await startVcsim({ args: vcsimArgs });
  let exporter: ExporterProcess;
  try {
    exporter = await startExporter({ env: { ...exporterEnv(vc, dir), ...env }, args });
  } catch (e) {
    await vc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    exporter,
    async close() {
      await exporter.stop();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const lastError = (samples: Sample[]): string =>
  find(samples, 'vsphere_last_error_info')[0]?.labels.message ?? '';

/** The messages of every log line so far that mentions a collection deadline. */
const deadlineLogs = (e: ExporterProcess): string[] =>
  e.logs.map((l) => JSON.stringify(l)).filter((l) => l.includes('collection deadline of'));

describe('scrape budget, environment-only configuration (QueryPerf takes 12 s)', () => {
  let r: Awaited<ReturnType<typeof rig>>;
  before(async () => {
    r = await rig(['-method-delay', 'QueryPerf:12000']);
  });
  after(async () => {
    await r?.close();
  });

  test('a scrape with the README quick start 50 s timeout gets the whole 12 s collection (vsphere_up 1, every collector)', async (t) => {
    const s = await timedScrape(r.exporter, { [HEADER]: '50' });
    assert.equal(s.status, 200);
    assert.equal(metric(s.samples, 'vsphere_up'), 1, lastError(s.samples));
    for (const collector of ['vm', 'host'])
      assert.equal(
        metric(s.samples, 'vsphere_collector_success', { collector }),
        1,
        `${collector}: ${JSON.stringify(deadlineLogs(r.exporter))}`,
      );
    assert.ok(
      metric(s.samples, 'vsphere_scrape_duration_seconds') > 10,
      'the collection took longer than the old 10 s cap',
    );
    assert.equal(metric(s.samples, 'vsphere_scrape_timeout_seconds'), 49.5, '50 s minus the 0.5 s offset');
    assert.deepEqual(deadlineLogs(r.exporter), []);
    t.diagnostic(`50 s scrape: vsphere_up 1, every collector, after ${s.ms.toFixed(0)} ms`);
  });

  test('a scrape without the header has scrape.timeout_seconds (10 s): it answers then, and the collection it started says so', async (t) => {
    const s = await timedScrape(r.exporter);
    assert.equal(s.status, 200);
    // The 12 s collection cannot finish within 10 s (the last one took 12 s): the scrape answers at
    // once with the previous complete collection (the 50 s scrape's, with its deadline), marked with
    // its age, leaving the rest of its timeout to the transfer. Wide bound for a busy machine.
    assert.ok(s.ms < 5000, `answered after ${s.ms.toFixed(0)} ms`);
    assert.equal(metric(s.samples, 'vsphere_up'), 1);
    assert.equal(metric(s.samples, 'vsphere_scrape_timeout_seconds'), 49.5);
    assert.ok(metric(s.samples, 'vsphere_collection_age_seconds') > 0);
    assert.equal(metric(s.samples, 'vsphere_scrape_stale_answers_total'), 1);
    // The collection it started ran on past the 10 s deadline (not cut: no deadline log) and
    // completed; the status page shows the deadline it had and where that came from.
    const want =
      'Deadline</dt><dd>10.0 s (scrape.timeout_seconds; no X-Prometheus-Scrape-Timeout-Seconds header)';
    let page = '';
    for (let i = 0; i < 100 && !page.includes(want); i++) {
      await new Promise((done) => setTimeout(done, 200));
      page = (await r.exporter.scrape('/')).text;
    }
    assert.ok(page.includes(want), page);
    assert.deepEqual(deadlineLogs(r.exporter), []);
    t.diagnostic(`header-less scrape answered the previous collection after ${s.ms.toFixed(0)} ms`);
  });
});

describe('scrape budget set by VSPHERE_SCRAPE_TIMEOUT_SECONDS=2 and --scrape.max-timeout-seconds=4 (QueryPerf takes 8 s)', () => {
  let r: Awaited<ReturnType<typeof rig>>;
  before(async () => {
    r = await rig(['-method-delay', 'QueryPerf:8000'], { VSPHERE_SCRAPE_TIMEOUT_SECONDS: '2' }, [
      '--scrape.max-timeout-seconds=4',
    ]);
  });
  after(async () => {
    await r?.close();
  });

  test('without the header the variable applies; a header above the cap is capped; one below is honoured', async (t) => {
    const cases: [Record<string, string>, number, string][] = [
      [{}, 2, '(scrape.timeout_seconds; no X-Prometheus-Scrape-Timeout-Seconds header)'],
      [
        { [HEADER]: '50' },
        4,
        '(scrape.max_timeout_seconds; X-Prometheus-Scrape-Timeout-Seconds 50 minus scrape.timeout_offset_seconds 0.5 is above it)',
      ],
      [
        { [HEADER]: '3.5' },
        3,
        '(X-Prometheus-Scrape-Timeout-Seconds 3.5 minus scrape.timeout_offset_seconds 0.5)',
      ],
    ];
    for (const [headers, want, source] of cases) {
      const s = await timedScrape(r.exporter, headers);
      assert.equal(s.status, 200);
      assert.equal(metric(s.samples, 'vsphere_scrape_timeout_seconds'), want, JSON.stringify(headers));
      assert.equal(metric(s.samples, 'vsphere_collector_success', { collector: 'vm' }), 0);
      // Well short of the 8 s QueryPerf: the deadline cut it (wide margin for a busy machine).
      assert.ok(s.ms < 7500, `${JSON.stringify(headers)} answered after ${s.ms.toFixed(0)} ms`);
      if (want < 4) {
        // Shorter than the collection's own deadline (scrape.collection_timeout_seconds, held to the
        // 4 s cap): the scrape answers alone and names its deadline; the collection runs on to 4 s.
        assert.equal(metric(s.samples, 'vsphere_up'), 0);
        assert.ok(lastError(s.samples).includes(`scrape deadline of ${want.toFixed(1)} s reached`));
        assert.ok(lastError(s.samples).endsWith(source), lastError(s.samples));
      } else {
        const logs = deadlineLogs(r.exporter);
        assert.ok(
          logs.some((l) => l.includes(`collection deadline of ${want.toFixed(1)} s reached ${source}`)),
          logs.join('\n'),
        );
      }
      // Each case starts a collection of its own: the previous one has reached its 4 s end.
      await new Promise((done) => setTimeout(done, Math.max(0, 4500 - s.ms)));
      t.diagnostic(`${JSON.stringify(headers)}: deadline ${want} s, answered after ${s.ms.toFixed(0)} ms`);
    }
    // /probe answers carry it too.
    const probe = await r.exporter.scrape('/probe?target=default', { [HEADER]: '3' });
    assert.equal(probe.status, 200);
    assert.equal(metric(parsePrometheusText(probe.text).samples, 'vsphere_scrape_timeout_seconds'), 2.5);
  });
});
