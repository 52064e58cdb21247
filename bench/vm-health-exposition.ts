/**
 * What the storage and runtime-health families add to one vm-collector scrape at `count` VMs:
 * samples, exposition bytes and the heap the collected families hold until they are written
 * (records built from a vcsim 8-like answer, with and without the health properties; no perf).
 *
 * Run: node --expose-gc --import tsx bench/vm-health-exposition.ts [count]
 */
import { createVmCollector } from '../src/collectors/vm.js';
import type { CollectContext } from '../src/collectors/collector.js';
import { encodeFamilies, type MetricFamily } from '../src/exposition/index.js';
import { assembleInventory } from '../src/vsphere/inventory.js';
import { toItem } from '../src/vsphere/inventory-records.js';
import { parseXml, type XmlNode } from '../src/vsphere/soap/xml.js';

const count = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const v = (xml: string): XmlNode => parseXml(`<val>${xml}</val>`);

function props(i: number, health: boolean): Map<string, XmlNode> {
  const m = new Map<string, XmlNode>([
    ['name', v(`DC0_C0_RP0_VM${i}`)],
    ['summary.config.numCpu', v('2')],
    ['summary.config.memorySizeMB', v('4096')],
    ['summary.runtime.powerState', v('poweredOn')],
    ['summary.runtime.host', parseXml('<val type="HostSystem">host-21</val>')],
  ]);
  if (!health) return m;
  m.set(
    'summary.storage',
    v('<committed>2340000</committed><uncommitted>10737418240</uncommitted><unshared>2020000</unshared>'),
  );
  m.set(
    'storage.perDatastoreUsage',
    v(
      `<VirtualMachineUsageOnDatastore><datastore type="Datastore">datastore-${i % 20}</datastore><committed>2340000</committed><uncommitted>10737418006</uncommitted><unshared>2020000</unshared></VirtualMachineUsageOnDatastore>`,
    ),
  );
  m.set('layoutEx', v('<file><key>1</key><size>5</size></file>'));
  m.set('runtime.consolidationNeeded', v('false'));
  m.set('runtime.connectionState', v('connected'));
  return m;
}

async function scrape(health: boolean): Promise<{ samples: number; bodyMiB: number; heldMiB: number }> {
  const items = Array.from({ length: count }, (_, i) =>
    toItem('VirtualMachine', `vm-${i}`, props(i, health)),
  );
  const datastores = Array.from({ length: 20 }, (_, i) =>
    toItem('Datastore', `datastore-${i}`, new Map([['name', v(`ds-${i}`)]])),
  );
  const inventory = assembleInventory([...items, ...datastores], {});
  const perf = { counters: () => Promise.resolve(new Map()) };
  const ctx = { inventory, perf, filter: { allows: () => true }, signal: new AbortController().signal };
  gc!();
  const before = process.memoryUsage().heapUsed;
  const fams: MetricFamily[] = [];
  await createVmCollector().collect(ctx as unknown as CollectContext, (f) => fams.push(f));
  gc!();
  const held = process.memoryUsage().heapUsed - before;
  const body = encodeFamilies(fams);
  return {
    samples: fams.reduce((n, f) => n + f.values.length, 0),
    bodyMiB: +(body.length / 2 ** 20).toFixed(2),
    heldMiB: +(held / 2 ** 20).toFixed(2),
  };
}

console.log(JSON.stringify({ vms: count, without: await scrape(false), with: await scrape(true) }));
