import type { MetricFamily } from '../exposition/index.js';
import { child, type XmlNode } from '../vsphere/answer-data.js';
import { moRef, num } from '../vsphere/values.js';
import type { CollectContext, Collector, FamilyDef } from './collector.js';
import { family, gauge } from './collector.js';
import type { Inventory } from '../vsphere/inventory.js';
import { HistoricalCache } from './historical-cache.js';
import {
  collectHistorical,
  historicalFamilyDefs,
  RESOURCE_POOL_HISTORICAL,
  type HistoricalOptions,
} from './historical.js';
import type { PerfTarget } from './perf-families.js';
import { allowedObjects } from './object-kind.js';

const ID = ['resource_pool', 'resource_pool_moid'] as const;
const MHZ = 1e6;
const MIB = 1024 * 1024;
const POOL_TYPES = ['ResourcePool', 'VirtualApp'];

const g = (name: string, help: string) => gauge(`vsphere_resource_pool_${name}`, help, ID);
const INFO = gauge(
  'vsphere_resource_pool_info',
  'Descriptive labels of a resource pool or vApp (kind resource_pool or vapp; parent_pool empty for a ' +
    'compute resource\'s root pool "Resources"); value is always 1.',
  [...ID, 'path', 'cluster', 'datacenter', 'parent_pool', 'kind'],
);
const CPU_USAGE = g('cpu_usage_hertz', 'CPU in use in hertz (summary.quickStats.overallCpuUsage).');
const MEM_GUEST = g(
  'memory_guest_usage_bytes',
  'Guest memory actively used by the VMs of the pool in bytes (summary.quickStats.guestMemoryUsage).',
);
const MEM_HOST = g(
  'memory_host_usage_bytes',
  'Host memory consumed by the VMs of the pool in bytes (summary.quickStats.hostMemoryUsage).',
);
const MEM_BALLOONED = g(
  'memory_ballooned_bytes',
  'Memory reclaimed by the balloon driver in bytes (summary.quickStats.balloonedMemory).',
);
const MEM_SWAPPED = g(
  'memory_swapped_bytes',
  'Memory swapped out in bytes (summary.quickStats.swappedMemory).',
);
const CPU_RESERVATION = g(
  'cpu_reservation_hertz',
  'Guaranteed CPU in hertz (config.cpuAllocation.reservation).',
);
const CPU_LIMIT = g(
  'cpu_limit_hertz',
  'CPU limit in hertz (config.cpuAllocation.limit); no sample when unlimited (-1).',
);
const CPU_SHARES = g('cpu_shares', 'CPU shares (config.cpuAllocation.shares.shares).');
const MEM_RESERVATION = g(
  'memory_reservation_bytes',
  'Guaranteed memory in bytes (config.memoryAllocation.reservation).',
);
const MEM_LIMIT = g(
  'memory_limit_bytes',
  'Memory limit in bytes (config.memoryAllocation.limit); no sample when unlimited (-1).',
);
const MEM_SHARES = g('memory_shares', 'Memory shares (config.memoryAllocation.shares.shares).');
const FAMILIES: readonly FamilyDef[] = [
  INFO,
  CPU_USAGE,
  MEM_GUEST,
  MEM_HOST,
  MEM_BALLOONED,
  MEM_SWAPPED,
  CPU_RESERVATION,
  CPU_LIMIT,
  CPU_SHARES,
  MEM_RESERVATION,
  MEM_LIMIT,
  MEM_SHARES,
];

const POOL_PATHS = [
  'name',
  'parent',
  'owner',
  'summary.quickStats',
  'config.cpuAllocation',
  'config.memoryAllocation',
];
// vcsim's ContainerView matches exact types only; vCenter would include vApps under ResourcePool.
// The owner (cluster or standalone compute resource), folders and datacenters label each pool.
const PROPERTIES: NonNullable<Collector['properties']> = [
  ...POOL_TYPES.map((type) => ({ type, pathSet: POOL_PATHS })),
  ...['ClusterComputeResource', 'ComputeResource', 'Folder', 'Datacenter'].map((type) => ({
    type,
    pathSet: ['name', 'parent'],
  })),
];

const HISTORICAL = { prefix: 'vsphere_resource_pool', labelNames: ID, defs: RESOURCE_POOL_HISTORICAL };

/** A ResourcePool or VirtualApp as the model keeps it. */
type PoolObject = ReturnType<Inventory['objects']>[number];

/** Resource pools and vApps (a compute resource's root pool included): usage, allocation, placement; optionally 5-minute historical counters. */
export function createResourcePoolCollector(options: HistoricalOptions = {}): Collector {
  const cache = options.historical ? new HistoricalCache() : undefined;
  return {
    name: 'resource_pool',
    properties: PROPERTIES,
    families: [...FAMILIES, ...historicalFamilyDefs(HISTORICAL)],
    async collect(ctx: CollectContext, emit): Promise<void> {
      const targets = fromInventory(ctx, emit);
      if (!cache) return;
      for (const f of await collectHistorical(ctx, cache, HISTORICAL, targets)) emit(f);
    },
  };
}

/** The resource_pool collector with default options. */
export const resourcePoolCollector: Collector = createResourcePoolCollector();

/** The families read from pool properties; returns the resource pools (not vApps) the filter allows. */
function fromInventory(ctx: CollectContext, emit: (f: MetricFamily) => void): PerfTarget[] {
  const tree = ctx.inventory.tree;
  const fams = new Map(FAMILIES.map((d) => [d, family(d)]));
  const f = (d: FamilyDef): MetricFamily => fams.get(d)!;
  const targets: PerfTarget[] = [];
  for (const type of POOL_TYPES) {
    for (const { object: o, id, path } of allowedObjects(ctx, type, 'resource_pool')) {
      addPool(o, id, path, tree, f);
      // vcsim has no statistics for VirtualApp and fails the whole QueryPerf on one.
      if (type === 'ResourcePool') targets.push({ entity: o.obj, labels: id });
    }
  }
  for (const fam of fams.values()) emit(fam);
  return targets;
}

function addPool(
  o: PoolObject,
  id: readonly string[],
  path: string | undefined,
  tree: Inventory['tree'],
  f: (d: FamilyDef) => MetricFamily,
): void {
  const moid = o.obj.value;
  const owner =
    tree.get(moRef(o.props.get('owner'))?.value) ??
    tree.ancestor(moid, ['ClusterComputeResource', 'ComputeResource']);
  // name and parent live in the tree, not in props.
  const parent = tree.get(tree.get(moid)?.parent);
  f(INFO).add(
    [
      ...id,
      path ?? '',
      owner?.type === 'ClusterComputeResource' ? (owner.name ?? '') : '',
      tree.datacenterOf(moid)?.name ?? '',
      parent && POOL_TYPES.includes(parent.type) ? (parent.name ?? parent.moid) : '',
      o.obj.type === 'VirtualApp' ? 'vapp' : 'resource_pool',
    ],
    1,
  );
  const stats = o.props.get('summary.quickStats');
  const stat = (n: string): number | undefined => (stats ? num(child(stats, n)) : undefined);
  add(f(CPU_USAGE), id, stat('overallCpuUsage'), MHZ);
  add(f(MEM_GUEST), id, stat('guestMemoryUsage'), MIB);
  add(f(MEM_HOST), id, stat('hostMemoryUsage'), MIB);
  add(f(MEM_BALLOONED), id, stat('balloonedMemory'), MIB);
  add(f(MEM_SWAPPED), id, stat('swappedMemory'), MIB);
  const cpu = allocation(o.props.get('config.cpuAllocation'));
  add(f(CPU_RESERVATION), id, cpu.reservation, MHZ);
  add(f(CPU_LIMIT), id, cpu.limit, MHZ);
  add(f(CPU_SHARES), id, cpu.shares, 1);
  const mem = allocation(o.props.get('config.memoryAllocation'));
  add(f(MEM_RESERVATION), id, mem.reservation, MIB);
  add(f(MEM_LIMIT), id, mem.limit, MIB);
  add(f(MEM_SHARES), id, mem.shares, 1);
}

/** Reservation, limit (undefined when unlimited) and shares of a ResourceAllocationInfo element. */
export function allocation(node: XmlNode | undefined): {
  reservation?: number;
  limit?: number;
  shares?: number;
} {
  if (!node) return {};
  const limit = num(child(node, 'limit'));
  const shares = child(node, 'shares');
  return {
    reservation: num(child(node, 'reservation')),
    // -1 means "no limit": a number there would read as a real, tiny limit.
    limit: limit === undefined || limit < 0 ? undefined : limit,
    shares: shares ? num(child(shares, 'shares')) : undefined,
  };
}

function add(fam: MetricFamily, id: readonly string[], v: number | undefined, factor: number): void {
  if (v !== undefined) fam.add(id, v * factor);
}
