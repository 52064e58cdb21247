import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createVmCollector } from '../../../src/collectors/vm.js';
import { inventorySpecs } from '../../../src/vsphere/inventory-specs.js';
import { applyUpdate, type WatchRecords } from '../../../src/vsphere/inventory-updates.js';
import { UnrequestedProperties } from '../../../src/vsphere/property-collector.js';
import { parseXml, type XmlNode } from '../../../src/vsphere/soap/xml.js';
import type { CollectContext, Collector } from '../../../src/collectors/collector.js';
import { snapshotBytes, VM_HEALTH_PATHS } from '../../../src/vsphere/vm-health-info.js';
import { collectText, model, obj, samples, val } from './model-fixture.js';

const file = (key: number, type: string, size: number | string): string =>
  `<file><key>${key}</key><name>[ds] f${key}</name><type>${type}</type><size>${size}</size></file>`;
const chain = (...keys: number[]): string =>
  `<chain>${keys.map((k) => `<fileKey>${k}</fileKey>`).join('')}</chain>`;
const disk = (key: number, ...chains: string[]): string => `<disk><key>${key}</key>${chains.join('')}</disk>`;
const snap = (moid: string, dataKey: number, memoryKey: number, ...disks: string[]): string =>
  `<snapshot><key type="VirtualMachineSnapshot">${moid}</key><dataKey>${dataKey}</dataKey><memoryKey>${memoryKey}</memoryKey>${disks.join('')}</snapshot>`;
const layout = (...parts: string[]): string => `<val>${parts.join('')}</val>`;

// A VM with base disk (files 1,2 = 1000 + 10 bytes), snapshot S1 (vmsn 3 = 50, vmem 4 = 400)
// whose delta (5,6 = 200 + 5) the running VM writes to after S2 (vmsn 7 = 60, no memory,
// delta 8,9 = 300 + 5), and a disk added after both snapshots (10,11).
const TWO_SNAPSHOTS = layout(
  file(1, 'diskExtent', 1000),
  file(2, 'diskDescriptor', 10),
  file(3, 'snapshotData', 50),
  file(4, 'snapshotMemory', 400),
  file(5, 'diskExtent', 200),
  file(6, 'diskDescriptor', 5),
  file(7, 'snapshotData', 60),
  file(8, 'diskExtent', 300),
  file(9, 'diskDescriptor', 5),
  file(10, 'diskExtent', 7000),
  file(11, 'diskDescriptor', 10),
  file(12, 'log', 99),
  disk(2000, chain(1, 2), chain(5, 6), chain(8, 9)),
  disk(2001, chain(10, 11)),
  snap('snapshot-1', 3, 4, disk(2000, chain(1, 2))),
  snap('snapshot-2', 7, -1, disk(2000, chain(1, 2), chain(5, 6))),
);

describe('snapshotBytes (layoutEx)', () => {
  test('counts snapshot data/memory files and the delta disks after the oldest snapshot, never the base disk', () => {
    assert.equal(snapshotBytes(parseXml(TWO_SNAPSHOTS)), 50 + 400 + 200 + 5 + 60 + 300 + 5);
  });
  test('a linked clone: its own delta below the oldest snapshot is not counted', () => {
    const x = layout(
      file(1, 'diskExtent', 9999),
      file(2, 'diskExtent', 70),
      file(3, 'snapshotData', 1),
      file(4, 'diskExtent', 30),
      disk(1, chain(1), chain(2), chain(4)),
      snap('snapshot-1', 3, -1, disk(1, chain(1), chain(2))),
    );
    assert.equal(snapshotBytes(parseXml(x)), 31);
  });
  test('0 without snapshots, undefined without layoutEx', () => {
    assert.equal(snapshotBytes(parseXml(layout(file(1, 'diskExtent', 5), disk(1, chain(1), chain(1))))), 0);
    assert.equal(snapshotBytes(undefined), undefined);
  });
  test('hostile: sizes missing, negative or not numbers, unknown keys, a file listed twice', () => {
    const x = layout(
      file(3, 'snapshotData', 'lots'),
      file(4, 'snapshotMemory', -5),
      file(5, 'snapshotData', 8),
      file(5, 'snapshotData', 1_000_000),
      snap('s1', 3, 4),
      snap('s2', 5, 99),
      snap('s3', 5, -1),
      '<snapshot><dataKey>x</dataKey><disk><chain><fileKey>5</fileKey></chain></disk></snapshot>',
    );
    assert.equal(snapshotBytes(parseXml(x)), 8);
  });
  test('a huge answer is read only up to a bound', () => {
    // Built as nodes: the XML parser has its own, larger cap on elements.
    const node = (name: string, text: string, children: XmlNode[] = []): XmlNode => ({
      name,
      attrs: {},
      text,
      children,
    });
    const files = Array.from({ length: 150_000 }, (_, i) =>
      node('file', '', [node('key', String(i)), node('size', '1')]),
    );
    const snapshot = node('snapshot', '', [node('dataKey', '149999')]);
    // The snapshot entry is past the bound: read as a VM without snapshots.
    assert.equal(snapshotBytes(node('val', '', [...files, snapshot])), 0);
    assert.equal(snapshotBytes(node('val', '', [snapshot, ...files])), 0, 'file 149999 is past the bound');
    assert.equal(snapshotBytes(node('val', '', [snapshot, ...files.slice(149_000)])), 1);
  });
});

const HEALTHY = {
  name: val('web-01'),
  'summary.storage':
    '<val><committed>1000</committed><uncommitted>2000</uncommitted><unshared>900</unshared><timestamp>2026-01-01T00:00:00Z</timestamp></val>',
  'storage.perDatastoreUsage':
    '<val>' +
    '<VirtualMachineUsageOnDatastore><datastore type="Datastore">datastore-1</datastore><committed>600</committed><uncommitted>1500</uncommitted><unshared>500</unshared></VirtualMachineUsageOnDatastore>' +
    '<VirtualMachineUsageOnDatastore><datastore type="Datastore">datastore-2</datastore><committed>400</committed><uncommitted>500</uncommitted><unshared>400</unshared></VirtualMachineUsageOnDatastore>' +
    '<VirtualMachineUsageOnDatastore><datastore type="Datastore">datastore-2</datastore><committed>1</committed></VirtualMachineUsageOnDatastore>' +
    '<VirtualMachineUsageOnDatastore><committed>7</committed></VirtualMachineUsageOnDatastore>' +
    '</val>',
  layoutEx: TWO_SNAPSHOTS,
  'runtime.consolidationNeeded': val('true'),
  'runtime.connectionState': val('orphaned'),
  'runtime.question': '<val><id>1</id><text>Did you move it or copy it?</text></val>',
  'runtime.dasVmProtection': '<val><dasProtected>false</dasProtected></val>',
};

// The vm collector with a perf manager that knows no counter: no perf families, no call.
function vmCollector(options: Parameters<typeof createVmCollector>[0] = {}): Collector {
  const c = createVmCollector(options);
  const perf = { counters: () => Promise.resolve(new Map()) };
  return { ...c, collect: (ctx, emit) => c.collect({ ...ctx, perf } as unknown as CollectContext, emit) };
}

describe('vm collector: storage and runtime health', () => {
  test('each family from its property, datastore names from the model', async () => {
    const inv = model([
      obj('VirtualMachine', 'vm-1', HEALTHY),
      obj('Datastore', 'datastore-1', { name: val('ssd-01') }),
    ]);
    const text = await collectText(vmCollector({ health: true, datastoreUsage: true }), inv);
    const vm = 'vm="web-01",vm_moid="vm-1"';
    assert.deepEqual(samples(text, 'vsphere_vm_storage_'), [
      `vsphere_vm_storage_committed_bytes{${vm}} 1000`,
      `vsphere_vm_storage_uncommitted_bytes{${vm}} 2000`,
      `vsphere_vm_storage_unshared_bytes{${vm}} 900`,
    ]);
    // datastore-2's name was not read: an empty name, the moid still identifies it; listed twice = once.
    assert.deepEqual(samples(text, 'vsphere_vm_datastore_committed_bytes'), [
      `vsphere_vm_datastore_committed_bytes{${vm},datastore="",datastore_moid="datastore-2"} 400`,
      `vsphere_vm_datastore_committed_bytes{${vm},datastore="ssd-01",datastore_moid="datastore-1"} 600`,
    ]);
    assert.equal(samples(text, 'vsphere_vm_datastore_uncommitted_bytes').length, 2);
    assert.equal(samples(text, 'vsphere_vm_datastore_unshared_bytes').length, 2);
    assert.deepEqual(samples(text, 'vsphere_vm_snapshot_size_bytes'), [
      `vsphere_vm_snapshot_size_bytes{${vm}} 1020`,
    ]);
    assert.deepEqual(samples(text, 'vsphere_vm_consolidation_needed'), [
      `vsphere_vm_consolidation_needed{${vm}} 1`,
    ]);
    assert.deepEqual(samples(text, 'vsphere_vm_connection_state'), [
      `vsphere_vm_connection_state{${vm},state="orphaned"} 1`,
    ]);
    assert.deepEqual(samples(text, 'vsphere_vm_question_pending'), [`vsphere_vm_question_pending{${vm}} 1`]);
    assert.deepEqual(samples(text, 'vsphere_vm_ha_protected'), [`vsphere_vm_ha_protected{${vm}} 0`]);
    // Per-datastore usage is an option: without it, the per-VM totals only.
    const plain = await collectText(vmCollector({ health: true }), inv);
    assert.deepEqual(samples(plain, 'vsphere_vm_datastore_'), []);
    assert.equal(samples(plain, 'vsphere_vm_storage_').length, 3);
    // vm.health off (the default) leaves them all out.
    const off = await collectText(vmCollector(), inv);
    for (const f of [
      'vsphere_vm_storage_',
      'vsphere_vm_snapshot_size',
      'vsphere_vm_connection',
      'vsphere_vm_question',
    ])
      assert.deepEqual(samples(off, f), [], f);
    // The question's free text never reaches a label or the record.
    assert.ok(!text.includes('move it'));
    assert.ok(!JSON.stringify(inv.vms[0]).includes('move it'));
  });

  test('absent properties give no series; no question is 0; malformed values are skipped', async () => {
    const inv = model([
      obj('VirtualMachine', 'vm-2', {
        name: val('bare'),
        'runtime.question': '<val/>',
        'summary.storage': '<val><committed>-1</committed><uncommitted>x</uncommitted></val>',
        'runtime.connectionState': val('not a state ' + 'x'.repeat(100)),
      }),
      obj('VirtualMachine', 'vm-3', { name: val('old') }),
    ]);
    const text = await collectText(vmCollector({ health: true }), inv);
    for (const f of [
      'vsphere_vm_storage_',
      'vsphere_vm_datastore_',
      'vsphere_vm_snapshot_size_bytes',
      'vsphere_vm_consolidation_needed',
      'vsphere_vm_connection_state',
      'vsphere_vm_ha_protected',
    ])
      assert.deepEqual(samples(text, f), [], f);
    // runtime.question set (even empty) = pending; unset = no question (vCenter omits an unset property).
    assert.deepEqual(samples(text, 'vsphere_vm_question_pending'), [
      'vsphere_vm_question_pending{vm="bare",vm_moid="vm-2"} 1',
      'vsphere_vm_question_pending{vm="old",vm_moid="vm-3"} 0',
    ]);
  });

  test('the record keeps numbers, never the layoutEx XML', () => {
    const inv = model([obj('VirtualMachine', 'vm-1', HEALTHY)]);
    const rec = inv.vms[0]!;
    assert.equal(rec.snapshotBytes, 1020);
    assert.equal(rec.extra, undefined);
    assert.ok(!JSON.stringify(rec).includes('diskExtent'));
  });

  test('the vm collector asks the model for the paths it decodes, and for datastore names', () => {
    const specs = inventorySpecs(createVmCollector({ health: true }).properties);
    const vm = specs.propSets.find((s) => s.type === 'VirtualMachine')!;
    for (const p of VM_HEALTH_PATHS) assert.ok(vm.pathSet.includes(p), p);
    assert.ok(specs.viewTypes.includes('Datastore'));
  });

  test('an update through the watch: snapshot removed, question answered, state changed', () => {
    const odd = new UnrequestedProperties(
      inventorySpecs(createVmCollector({ health: true }).properties).propSets,
    );
    const first = model([obj('VirtualMachine', 'vm-1', HEALTHY)]).vms[0]!;
    const state: WatchRecords = { objects: new Map([['VirtualMachine:vm-1', { kind: 'vm', vm: first }]]) };
    const update = parseXml(
      '<objectSet><kind>modify</kind><obj type="VirtualMachine">vm-1</obj>' +
        `<changeSet><name>layoutEx</name><op>assign</op>${layout(file(1, 'diskExtent', 5), disk(1, chain(1)))}</changeSet>` +
        '<changeSet><name>runtime.question</name><op>assign</op></changeSet>' +
        '<changeSet><name>runtime.connectionState</name><op>assign</op><val>connected</val></changeSet>' +
        '</objectSet>',
    );
    applyUpdate(state, update, odd);
    const vm = state.objects.get('VirtualMachine:vm-1');
    assert.equal(vm?.kind, 'vm');
    if (vm?.kind !== 'vm') return;
    assert.equal(vm.vm.snapshotBytes, 0);
    assert.equal(vm.vm.questionPending, false);
    assert.equal(vm.vm.connectionState, 'connected');
    // The record handed out before is unchanged.
    assert.equal(first.snapshotBytes, 1020);
    assert.equal(first.questionPending, true);
  });
});
