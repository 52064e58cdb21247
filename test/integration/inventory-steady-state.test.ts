/**
 * The exporter with every default collector, inventory: incremental (the default): once the model
 * is read, a scrape reads nothing of the inventory again (no view, no retrieval): only the
 * WaitForUpdatesEx of the model and the perf queries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';

describe('steady state with every default collector (inventory: incremental)', () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let exporter: ExporterProcess;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-steady-'));
    vc = await startVcsim({ args: ['-trigger-alarm'] });
    proxy = await startFaultProxy(vc.url);
    const pw = join(dir, 'password');
    writeFileSync(pw, vc.password, { mode: 0o600 });
    exporter = await startExporter({
      env: { VSPHERE_URL: proxy.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
    });
  });
  after(async () => {
    await exporter?.stop();
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a steady-state scrape sends no RetrievePropertiesEx, CreateContainerView or DestroyView', async (t) => {
    // Two scrapes: the first reads the model (and the alarm names, counters), the second may still
    // read what the first one's collectors asked for once per session.
    for (let i = 0; i < 2; i++) await exporter.scrape();
    const before = proxy.counts();
    for (let i = 0; i < 3; i++) {
      const r = await exporter.scrape();
      const samples = parsePrometheusText(r.text).samples;
      assert.equal(find(samples, 'vsphere_up')[0]?.value, 1);
      for (const s of find(samples, 'vsphere_collector_success'))
        assert.equal(s.value, 1, `collector ${s.labels.collector}`);
    }
    const after = proxy.counts();
    const sent = Object.fromEntries(
      Object.entries(after)
        .map(([m, n]) => [m, n - (before[m] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
    t.diagnostic(`SOAP calls in 3 steady-state scrapes: ${JSON.stringify(sent)}`);
    for (const m of ['RetrievePropertiesEx', 'CreateContainerView', 'DestroyView', 'CreateFilter'])
      assert.equal(sent[m] ?? 0, 0, m);
    assert.equal(sent.WaitForUpdatesEx, 3, 'one WaitForUpdatesEx per scrape');
    // Nothing but the watch and the perf queries. The licence collector's QueryAssignedLicenses is
    // read at most once per 5 minutes: by the first scrape, never by the back-to-back ones after it.
    assert.deepEqual(
      Object.keys(sent).filter((m) => m !== 'WaitForUpdatesEx' && m !== 'QueryPerf'),
      [],
      'only WaitForUpdatesEx and QueryPerf in steady state',
    );
    assert.equal(after.QueryAssignedLicenses, 1, 'QueryAssignedLicenses once, by the first scrape');
  });
});
