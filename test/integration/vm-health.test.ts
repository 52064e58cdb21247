/**
 * VM storage and runtime health against vcsim 0.24 and the vSphere 8 simulator: every family
 * compared with what a raw SOAP client (no code shared with the exporter) reads, and a snapshot
 * created and removed reaching the model through WaitForUpdatesEx alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { metric } from '../harness/env.js';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startVcsim8, vcsim8SkipReason, type Vcsim8 } from '../harness/vcsim8.js';
import { allTags, firstTag, RawVimClient, xmlUnescape, type RawObject } from '../harness/vim-soap.js';
import { createSnapshot, vmTask } from '../harness/vim-tasks.js';

const PATHS = [
  'name',
  'summary.storage',
  'storage.perDatastoreUsage',
  'layoutEx',
  'runtime.consolidationNeeded',
  'runtime.connectionState',
  'runtime.question',
  'runtime.dasVmProtection',
];

/**
 * The test's own reading of layoutEx: sizes of every snapshot's dataKey/memoryKey file and of the
 * disk chain units beyond the shortest chain any snapshot has for that disk.
 */
function rawSnapshotBytes(layoutEx: string): number {
  const sizes = new Map<string, number>();
  for (const f of allTags(layoutEx, 'file')) sizes.set(firstTag(f, 'key')!, Number(firstTag(f, 'size')));
  const snapshots = allTags(layoutEx, 'snapshot');
  if (snapshots.length === 0) return 0;
  const keys = new Set<string>();
  const shortest = new Map<string, number>();
  const chains = (disk: string): string[][] => allTags(disk, 'chain').map((c) => allTags(c, 'fileKey'));
  const snapshotDisks = snapshots.flatMap((s) => allTags(s, 'disk'));
  for (const s of snapshots)
    for (const k of ['dataKey', 'memoryKey']) {
      const v = firstTag(s, k);
      if (v !== undefined && v !== '-1') keys.add(v);
    }
  for (const d of snapshotDisks) {
    const k = firstTag(d, 'key')!;
    shortest.set(k, Math.min(chains(d).length, shortest.get(k) ?? Infinity));
  }
  const running = allTags(layoutEx.replace(/<snapshot>[\s\S]*?<\/snapshot>/g, ''), 'disk');
  for (const d of [...running, ...snapshotDisks]) {
    const from = shortest.get(firstTag(d, 'key')!);
    if (from !== undefined) for (const unit of chains(d).slice(from)) for (const k of unit) keys.add(k);
  }
  return [...keys].reduce((sum, k) => sum + (sizes.get(k) ?? 0), 0);
}

/** Compares every storage/health family of every VM with the raw reading. */
async function assertHealthEqualsRaw(samples: Sample[], raw: RawVimClient): Promise<RawObject[]> {
  const vms = await raw.retrieveAll('VirtualMachine', PATHS);
  const dsNames = new Map(
    (await raw.retrieveAll('Datastore', ['name'])).map((d) => [d.moid, xmlUnescape(d.props.name ?? '')]),
  );
  assert.ok(vms.length > 0);
  for (const vm of vms) {
    const id = { vm: xmlUnescape(vm.props.name!), vm_moid: vm.moid };
    const storage = vm.props['summary.storage'];
    assert.ok(storage, 'both simulators fill summary.storage');
    for (const k of ['committed', 'uncommitted', 'unshared'])
      assert.equal(metric(samples, `vsphere_vm_storage_${k}_bytes`, id), Number(firstTag(storage, k)), k);
    const usage = allTags(vm.props['storage.perDatastoreUsage'] ?? '', 'VirtualMachineUsageOnDatastore');
    assert.ok(usage.length > 0, 'both simulators fill storage.perDatastoreUsage');
    assert.equal(find(samples, 'vsphere_vm_datastore_committed_bytes', id).length, usage.length);
    for (const u of usage) {
      const ds = xmlUnescape(firstTag(u, 'datastore')!);
      const labels = { ...id, datastore: dsNames.get(ds) ?? '', datastore_moid: ds };
      for (const k of ['committed', 'uncommitted', 'unshared'])
        assert.equal(metric(samples, `vsphere_vm_datastore_${k}_bytes`, labels), Number(firstTag(u, k)), k);
    }
    assert.equal(metric(samples, 'vsphere_vm_snapshot_size_bytes', id), rawSnapshotBytes(vm.props.layoutEx!));
    const consolidation = vm.props['runtime.consolidationNeeded'];
    assert.deepEqual(
      find(samples, 'vsphere_vm_consolidation_needed', id).map((s) => s.value),
      consolidation === undefined ? [] : [consolidation === 'true' ? 1 : 0],
    );
    const state = vm.props['runtime.connectionState']!;
    assert.equal(metric(samples, 'vsphere_vm_connection_state', { ...id, state }), 1);
    assert.equal(
      find(samples, 'vsphere_vm_connection_state', id).reduce((s, x) => s + x.value, 0),
      1,
    );
    assert.equal(
      metric(samples, 'vsphere_vm_question_pending', id),
      vm.props['runtime.question'] === undefined ? 0 : 1,
    );
    const das = vm.props['runtime.dasVmProtection'];
    assert.deepEqual(
      find(samples, 'vsphere_vm_ha_protected', id).map((s) => s.value),
      das === undefined ? [] : [firstTag(das, 'dasProtected') === 'true' ? 1 : 0],
    );
  }
  return vms;
}

/** SOAP calls by method as the exporter counts them (vsphere_soap_requests_total). */
function callsByMethod(samples: Sample[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of find(samples, 'vsphere_soap_requests_total'))
    out.set(s.labels.method!, (out.get(s.labels.method!) ?? 0) + s.value);
  return out;
}

describe('VM storage and runtime health', () => {
  const running: { stop(): Promise<unknown> }[] = [];
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-vmhealth-'));
  });
  after(async () => {
    for (const r of running.reverse()) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const exporterFor = async (vc: Vcsim | Vcsim8): Promise<ExporterProcess> => {
    const pw = join(dir, 'password');
    writeFileSync(pw, `${vc.password}\n`, { mode: 0o600 });
    // Both are opt-in (vm.health: up to 8 series per VM; per-datastore usage: 3 per VM and datastore).
    const cfg = join(dir, 'config.yml');
    writeFileSync(cfg, 'vm:\n  health: true\n  datastore_usage: true\n');
    const e = await startExporter({
      env: { VSPHERE_URL: vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
      args: ['--config.file', cfg],
    });
    running.push(e);
    return e;
  };
  const withRaw = async <T>(vc: Vcsim | Vcsim8, fn: (c: RawVimClient) => Promise<T>): Promise<T> => {
    const c = new RawVimClient(vc.url);
    await c.login(vc.user, vc.password);
    try {
      return await fn(c);
    } finally {
      await c.logout();
    }
  };
  const scrape = async (e: ExporterProcess): Promise<Sample[]> => {
    const res = await e.scrape();
    assert.equal(res.status, 200);
    return parsePrometheusText(res.text).samples;
  };

  test('vcsim 0.24: every family equals the raw client; a snapshot created and removed arrives through WaitForUpdatesEx alone', async (t) => {
    const vc = await startVcsim();
    running.push(vc);
    await withRaw(vc, async (raw) => {
      const [first, second] = vc.inventory.vms;
      assert.ok(first && second);
      await createSnapshot(raw, first.moid, 'before');
      const e = await exporterFor(vc);
      await assertHealthEqualsRaw(await scrape(e), raw);
      const calls = callsByMethod(await scrape(e));

      const id = { vm: second.name, vm_moid: second.moid };
      await createSnapshot(raw, second.moid, 'nightly');
      let samples = await scrape(e);
      assert.equal(metric(samples, 'vsphere_vm_snapshots', id), 1, 'the new snapshot reached the model');
      const vms = await assertHealthEqualsRaw(samples, raw);
      assert.equal(allTags(vms.find((v) => v.moid === second.moid)!.props.layoutEx!, 'snapshot').length, 1);

      await vmTask(raw, 'RemoveAllSnapshots_Task', second.moid);
      samples = await scrape(e);
      assert.equal(metric(samples, 'vsphere_vm_snapshots', id), 0, 'the removal reached the model');
      await assertHealthEqualsRaw(samples, raw);

      const after = callsByMethod(samples);
      const sent = [...after].filter(([m, n]) => n !== (calls.get(m) ?? 0)).map(([m]) => m);
      t.diagnostic(`methods called by the two scrapes after the changes: ${sent.join(', ')}`);
      for (const m of sent) assert.ok(['WaitForUpdatesEx', 'QueryPerf'].includes(m), m);
    });
  });

  test('vSphere 8 simulator: every family equals the raw client', { skip: vcsim8SkipReason() }, async () => {
    const vc = await startVcsim8();
    running.push(vc);
    await withRaw(vc, async (raw) => {
      const vm = (await raw.retrieveAll('VirtualMachine', ['name']))[0]!;
      await createSnapshot(raw, vm.moid, 'before');
      const e = await exporterFor(vc);
      const samples = await scrape(e);
      const vms = await assertHealthEqualsRaw(samples, raw);
      // What this simulator fills, so the comparison above compared values, not two absences.
      const props = vms[0]!.props;
      assert.ok(Number(firstTag(props['summary.storage']!, 'uncommitted')) > 0);
      assert.ok(props['runtime.consolidationNeeded'] !== undefined);
      assert.ok(
        find(samples, 'vsphere_vm_datastore_committed_bytes').every((s) => s.labels.datastore !== ''),
      );
    });
  });
});
