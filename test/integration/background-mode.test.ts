import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';

const one = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  find(samples, name, labels)[0]?.value;

describe('background collection mode (scrape.collection: background)', () => {
  let vc: Vcsim;
  let exporter: ExporterProcess;
  let dir: string;
  const INTERVAL = 5;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-bg-'));
    // Every collection takes > 1 s (slow QueryPerf): scrapes must not pay for it.
    vc = await startVcsim({ args: ['-method-delay', 'QueryPerf:1200'] });
    const pw = join(dir, 'password');
    writeFileSync(pw, vc.password, { mode: 0o600 });
    const cfg = join(dir, 'config.yml');
    writeFileSync(cfg, `scrape:\n  collection: background\n  interval_seconds: ${INTERVAL}\n`);
    exporter = await startExporter({
      env: { VSPHERE_URL: vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
      args: ['--config.file', cfg],
    });
  });
  after(async () => {
    await exporter?.stop();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('scrapes serve the last collection at once, with its age; collections follow the schedule, not the scrapes', async (t) => {
    const first = parsePrometheusText((await exporter.scrape()).text).samples;
    assert.equal(one(first, 'vsphere_up'), 1);
    // Each collection reads the inventory model's changes with one WaitForUpdatesEx.
    const views = (s: Sample[]): number =>
      one(s, 'vsphere_soap_requests_total', { method: 'WaitForUpdatesEx', outcome: 'success' }) ?? 0;
    const times: number[] = [];
    let last: Sample[] = first;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const r = await exporter.scrape();
      times.push(performance.now() - t0);
      last = parsePrometheusText(r.text).samples;
      const age = one(last, 'vsphere_collection_age_seconds');
      assert.ok(age !== undefined && age >= 0 && age < INTERVAL + 4, `age ${age}`);
    }
    times.sort((a, b) => a - b);
    const p50 = times[10]!;
    // Served from the last collection, not after waiting for the next one (every 5 s); that no
    // scrape started a collection is counted exactly below. The bound leaves room for a busy machine.
    assert.ok(p50 < 1000, `p50 ${p50.toFixed(1)} ms`);
    // 20 scrapes within one interval did not start 20 collections.
    assert.ok(
      views(last) - views(first) <= 1,
      `collections during the scrapes: ${views(last) - views(first)}`,
    );
    // The schedule goes on without scrapes.
    const before = views(last);
    await sleep((INTERVAL + 3) * 1000);
    const later = parsePrometheusText((await exporter.scrape()).text).samples;
    assert.ok(views(later) > before, 'a scheduled collection ran');
    t.diagnostic(
      `background scrapes: p50 ${p50.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms; collections ${views(first)} → ${views(later)}`,
    );
  });
});
