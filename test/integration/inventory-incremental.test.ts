import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawLogin, startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';
import { COLLECTOR_NAMES } from '../../src/model/names.js';

const ONLY_VM_HOST = COLLECTOR_NAMES.filter((n) => n !== 'vm' && n !== 'host').map(
  (n) => `--no-collector.${n}`,
);

const vmNames = (text: string): string[] =>
  find(parsePrometheusText(text).samples, 'vsphere_vm_info')
    .map((s) => s.labels.vm!)
    .sort();

describe('incremental inventory (vsphere.inventory: incremental)', () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let exporter: ExporterProcess;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-incr-'));
    vc = await startVcsim();
    proxy = await startFaultProxy(vc.url);
    const pw = join(dir, 'password');
    writeFileSync(pw, vc.password, { mode: 0o600 });
    const cfg = join(dir, 'config.yml');
    writeFileSync(cfg, `vsphere:\n  inventory: incremental\n`);
    exporter = await startExporter({
      env: { VSPHERE_URL: proxy.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
      // Only the VM/host inventory is under test: the other kinds read their own (small) views each scrape.
      args: ['--config.file', cfg, ...ONLY_VM_HOST],
    });
  });
  after(async () => {
    await exporter?.stop();
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('steady-state scrapes retrieve no full inventory; renamed and removed VMs show up in the next scrape', async (t) => {
    const first = await exporter.scrape();
    assert.deepEqual(vmNames(first.text), vc.inventory.vms.map((v) => v.name).sort());
    const c1 = proxy.counts();
    for (let i = 0; i < 5; i++) {
      const r = await exporter.scrape();
      assert.equal(find(parsePrometheusText(r.text).samples, 'vsphere_up')[0]?.value, 1);
    }
    const c2 = proxy.counts();
    // The only RetrievePropertiesEx of a session reads the counter catalogue, before the first scrape ends.
    assert.equal(
      c2.RetrievePropertiesEx ?? 0,
      c1.RetrievePropertiesEx ?? 0,
      'no RetrievePropertiesEx at steady state',
    );
    assert.equal(c2.CreateContainerView, 1, 'one view for the session');
    assert.equal(c2.CreateFilter, 1);
    assert.equal(c2.CreatePropertyCollector, 1);
    assert.equal(
      (c2.WaitForUpdatesEx ?? 0) - (c1.WaitForUpdatesEx ?? 0),
      5,
      'one WaitForUpdatesEx per scrape',
    );

    const admin = await rawLogin(vc);
    try {
      const [renamed, removed] = vc.inventory.vms;
      // One scrape after each change: vcsim 0.24 drops the connection when one update batch holds
      // a modify and then a leave of the same VM (the exporter would resync on the next scrape).
      await admin.client.call(
        'Rename_Task',
        `<_this type="VirtualMachine">${renamed!.moid}</_this><newName>renamed-vm ü</newName>`,
      );
      await sleep(300);
      assert.ok(
        vmNames((await exporter.scrape()).text).includes('renamed-vm ü'),
        'rename seen in the next scrape',
      );
      await admin.client.call('PowerOffVM_Task', `<_this type="VirtualMachine">${removed!.moid}</_this>`);
      await sleep(300);
      await exporter.scrape();
      await admin.client.call('Destroy_Task', `<_this type="VirtualMachine">${removed!.moid}</_this>`);
      await sleep(300);
      const after = (await exporter.scrape()).text;
      const names = vmNames(after);
      const expected = vc.inventory.vms
        .filter((v) => v.moid !== removed!.moid)
        .map((v) => (v.moid === renamed!.moid ? 'renamed-vm ü' : v.name))
        .sort();
      assert.deepEqual(names, expected);
      t.diagnostic(`after rename + destroy: ${names.join(', ')}; counts ${JSON.stringify(proxy.counts())}`);
    } finally {
      await admin.logout();
    }
  });

  test('a failed update read is followed at once by a new watch: that scrape still succeeds, the old watch is destroyed', async () => {
    const before = proxy.counts();
    proxy.addRule({ method: 'WaitForUpdatesEx', fault: 'reset-mid-body', times: 1 });
    const resynced = (await exporter.scrape()).text;
    assert.equal(find(parsePrometheusText(resynced).samples, 'vsphere_up')[0]?.value, 1);
    assert.equal(vmNames(resynced).length, vc.inventory.vms.length - 1, 'every VM (one was destroyed above)');
    await sleep(200);
    const c = proxy.counts();
    assert.equal((c.CreatePropertyCollector ?? 0) - (before.CreatePropertyCollector ?? 0), 1, 'one resync');
    assert.equal(
      (c.DestroyPropertyCollector ?? 0) - (before.DestroyPropertyCollector ?? 0),
      1,
      'dropped watch destroyed',
    );
    assert.equal((c.DestroyView ?? 0) - (before.DestroyView ?? 0), 1);
  });

  test('when the new watch fails too, that scrape is vsphere_up 0 and the next one recovers', async () => {
    proxy.addRule({ method: 'WaitForUpdatesEx', fault: 'reset-mid-body', times: 2 });
    const failed = parsePrometheusText((await exporter.scrape()).text).samples;
    assert.equal(find(failed, 'vsphere_up')[0]?.value, 0);
    const good = await exporter.scrape();
    assert.equal(find(parsePrometheusText(good.text).samples, 'vsphere_up')[0]?.value, 1);
  });

  test('shutdown destroys the collector and the view before logging out', async () => {
    exporter.signal('SIGTERM');
    const exit = await exporter.exited;
    assert.equal(exit.code, 0);
    const c = proxy.counts();
    // Four watches in this file (the first, two resyncs, one failed start), all destroyed.
    assert.equal(c.CreatePropertyCollector, 4);
    assert.equal(c.DestroyPropertyCollector, 4);
    assert.equal(c.DestroyView, 4);
    assert.equal(c.Logout, 1);
  });
});
