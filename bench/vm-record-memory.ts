/**
 * Heap cost per VM record of the storage and runtime-health fields (summary.storage,
 * storage.perDatastoreUsage, layoutEx, runtime.*): builds 10,000 records from a vcsim 8-like
 * answer with and without those properties and compares heapUsed after a full GC.
 *
 * Run: node --expose-gc --import tsx bench/vm-record-memory.ts [count]
 */
import { toItem, type InventoryItem } from '../src/vsphere/inventory-records.js';
import { parseXml, type XmlNode } from '../src/vsphere/soap/xml.js';

const count = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const v = (xml: string): XmlNode => parseXml(`<val>${xml}</val>`);

function baseProps(i: number): Map<string, XmlNode> {
  return new Map([
    ['name', v(`DC0_C0_RP0_VM${i}`)],
    ['summary.config.numCpu', v('2')],
    ['summary.config.memorySizeMB', v('4096')],
    ['summary.config.instanceUuid', v(`5028${String(i).padStart(4, '0')}-aaaa-bbbb-cccc-0123456789ab`)],
    ['summary.config.uuid', v(`4228${String(i).padStart(4, '0')}-aaaa-bbbb-cccc-0123456789ab`)],
    ['summary.config.template', v('false')],
    ['summary.config.guestId', v('otherGuest')],
    ['summary.runtime.powerState', v('poweredOn')],
    ['summary.runtime.host', parseXml('<val type="HostSystem">host-21</val>')],
  ]);
}

// Two snapshots (no memory), one disk with a delta each: what a VM with snapshots looks like in vCenter.
const LAYOUT =
  [
    'nvram',
    'config',
    'diskExtent',
    'diskDescriptor',
    'log',
    'snapshotData',
    'diskExtent',
    'diskDescriptor',
    'snapshotData',
  ]
    .map(
      (t, k) =>
        `<file><key>${k}</key><name>[LocalDS_0] vm/f${k}.x</name><type>${t}</type><size>${1000 * k}</size><accessible>true</accessible></file>`,
    )
    .join('') +
  '<disk><key>2000</key><chain><fileKey>2</fileKey><fileKey>3</fileKey></chain><chain><fileKey>6</fileKey><fileKey>7</fileKey></chain></disk>' +
  '<snapshot><key type="VirtualMachineSnapshot">snapshot-1</key><dataKey>5</dataKey><memoryKey>-1</memoryKey><disk><key>2000</key><chain><fileKey>2</fileKey><fileKey>3</fileKey></chain></disk></snapshot>' +
  '<snapshot><key type="VirtualMachineSnapshot">snapshot-2</key><dataKey>8</dataKey><memoryKey>-1</memoryKey><disk><key>2000</key><chain><fileKey>2</fileKey><fileKey>3</fileKey></chain><chain><fileKey>6</fileKey><fileKey>7</fileKey></chain></disk></snapshot>' +
  '<timestamp>2026-12-06T18:38:46.662637006Z</timestamp>';

function healthProps(i: number): Map<string, XmlNode> {
  const m = baseProps(i);
  m.set(
    'summary.storage',
    v(
      '<committed>2340000</committed><uncommitted>10737418240</uncommitted><unshared>2020000</unshared><timestamp>2026-12-06T18:38:46Z</timestamp>',
    ),
  );
  m.set(
    'storage.perDatastoreUsage',
    v(
      '<VirtualMachineUsageOnDatastore><datastore type="Datastore">datastore-59</datastore><committed>2340000</committed><uncommitted>10737418006</uncommitted><unshared>2020000</unshared></VirtualMachineUsageOnDatastore>',
    ),
  );
  m.set('layoutEx', v(LAYOUT));
  m.set('runtime.consolidationNeeded', v('false'));
  m.set('runtime.connectionState', v('connected'));
  m.set('runtime.dasVmProtection', v('<dasProtected>true</dasProtected>'));
  return m;
}

function heapOf(build: (i: number) => Map<string, XmlNode>): { bytes: number; keep: InventoryItem[] } {
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const keep: InventoryItem[] = [];
  for (let i = 0; i < count; i++) keep.push(toItem('VirtualMachine', `vm-${i}`, build(i)));
  gc!();
  gc!();
  return { bytes: process.memoryUsage().heapUsed - before, keep };
}

const base = heapOf(baseProps);
const health = heapOf(healthProps);
const perVm = (health.bytes - base.bytes) / count;
console.log(
  JSON.stringify({
    vms: count,
    baseRecordsMiB: +(base.bytes / 2 ** 20).toFixed(2),
    withHealthMiB: +(health.bytes / 2 ** 20).toFixed(2),
    healthBytesPerVm: Math.round(perVm),
    kept: base.keep.length + health.keep.length,
  }),
);
