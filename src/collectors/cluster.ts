import type { MetricFamily } from '../exposition/index.js';
import { child, type XmlNode } from '../vsphere/answer-data.js';
import { bool, num } from '../vsphere/values.js';
import type { CollectContext, Collector } from './collector.js';
import { addClusterHealth, CLUSTER_HEALTH_FAMILIES, CLUSTER_HEALTH_PATHS } from './cluster-health.js';
import { family, gauge } from './collector.js';
import { HistoricalCache } from './historical-cache.js';
import {
  CLUSTER_HISTORICAL,
  collectHistorical,
  historicalFamilyDefs,
  type HistoricalOptions,
} from './historical.js';
import type { PerfTarget } from './perf-families.js';
import { addCounts, bump } from './state-counts.js';
import { allowedObjects } from './object-kind.js';

const ID = ['cluster', 'cluster_moid'] as const;
const CONNECTION_STATES = ['connected', 'disconnected', 'notResponding'] as const;
const POWER_STATES = ['poweredOn', 'poweredOff', 'suspended'] as const;
const MHZ = 1e6;
const MIB = 1024 * 1024;

const g = (name: string, help: string, extra: readonly string[] = []) =>
  gauge(`vsphere_cluster_${name}`, help, [...ID, ...extra]);
const INFO = gauge(
  'vsphere_cluster_info',
  'Descriptive labels of a cluster (ClusterComputeResource); value is always 1.',
  [...ID, 'datacenter'],
);
const CPU_CAPACITY = g('cpu_capacity_hertz', 'Total CPU resources of all hosts in hertz (summary.totalCpu).');
const CPU_EFFECTIVE = g(
  'cpu_effective_hertz',
  'CPU available to VMs in hertz, from good hosts only (summary.effectiveCpu).',
);
const MEM_CAPACITY = g('memory_capacity_bytes', 'Total memory of all hosts in bytes (summary.totalMemory).');
const MEM_EFFECTIVE = g(
  'memory_effective_bytes',
  'Memory available to VMs in bytes, from good hosts only (summary.effectiveMemory, MiB in vim25).',
);
const CPU_USAGE = g(
  'cpu_usage_hertz',
  'CPU in use in hertz: sum over the connected hosts of the cluster of summary.quickStats.overallCpuUsage ' +
    '(summary.usageSummary has demand and entitlement, not usage).',
);
const MEM_USAGE = g(
  'memory_usage_bytes',
  'Memory in use in bytes: sum over the connected hosts of the cluster of summary.quickStats.overallMemoryUsage.',
);
const HOSTS = g('hosts', 'Hosts in the cluster (summary.numHosts).');
const EFFECTIVE_HOSTS = g(
  'effective_hosts',
  'Hosts in the cluster that are connected, not in maintenance mode and usable (summary.numEffectiveHosts).',
);
const HOSTS_BY_STATE = g(
  'hosts_by_connection_state',
  'Hosts of the cluster per connection state (host summary.runtime.connectionState); counts hosts that filters leave out too.',
  ['state'],
);
const VMS_BY_STATE = g(
  'vms_by_power_state',
  'VMs (templates excluded) running on hosts of the cluster per power state (VM summary.runtime.powerState); counts VMs that filters leave out too.',
  ['state'],
);
const DRS = g('drs_enabled', '1 when DRS is enabled (configuration.drsConfig.enabled).');
const HA = g('ha_enabled', '1 when vSphere HA is enabled (configuration.dasConfig.enabled).');
const FAMILIES = [
  INFO,
  CPU_CAPACITY,
  CPU_EFFECTIVE,
  MEM_CAPACITY,
  MEM_EFFECTIVE,
  CPU_USAGE,
  MEM_USAGE,
  HOSTS,
  EFFECTIVE_HOSTS,
  HOSTS_BY_STATE,
  VMS_BY_STATE,
  DRS,
  HA,
  ...CLUSTER_HEALTH_FAMILIES,
];

// Folders and datacenters too: the datacenter label and the path filters see walk up through them.
const PROPERTIES: NonNullable<Collector['properties']> = [
  {
    type: 'ClusterComputeResource',
    pathSet: [
      'name',
      'parent',
      'summary',
      'configuration.drsConfig.enabled',
      'configuration.dasConfig.enabled',
      ...CLUSTER_HEALTH_PATHS,
    ],
  },
  { type: 'Folder', pathSet: ['name', 'parent'] },
  { type: 'Datacenter', pathSet: ['name', 'parent'] },
  {
    type: 'HostSystem',
    pathSet: [
      'parent',
      'summary.runtime.connectionState',
      'summary.quickStats.overallCpuUsage',
      'summary.quickStats.overallMemoryUsage',
    ],
  },
  {
    type: 'VirtualMachine',
    pathSet: ['summary.runtime.host', 'summary.runtime.powerState', 'summary.config.template'],
  },
];

const HISTORICAL = { prefix: 'vsphere_cluster', labelNames: ID, defs: CLUSTER_HISTORICAL };

interface Usage {
  cpuMhz?: number;
  memBytes?: number;
}

/** Clusters: capacity, usage, host and VM counts, DRS/HA switches; optionally 5-minute historical counters. */
export function createClusterCollector(options: HistoricalOptions = {}): Collector {
  const cache = options.historical ? new HistoricalCache() : undefined;
  return {
    name: 'cluster',
    properties: PROPERTIES,
    families: [...FAMILIES, ...historicalFamilyDefs(HISTORICAL)],
    async collect(ctx: CollectContext, emit): Promise<void> {
      const targets = fromInventory(ctx, emit);
      if (!cache) return;
      for (const f of await collectHistorical(ctx, cache, HISTORICAL, targets)) emit(f);
    },
  };
}

/** The cluster collector with default options. */
export const clusterCollector: Collector = createClusterCollector();

/** The families read from cluster and host properties; returns the clusters the filter allows. */
function fromInventory(ctx: CollectContext, emit: (f: MetricFamily) => void): PerfTarget[] {
  const tree = ctx.inventory.tree;
  // Usage and counts describe the whole cluster, like summary.numHosts beside them: filters pick
  // which hosts and VMs get series of their own, not what a cluster holds.
  const whole = ctx.wholeInventory ?? ctx.inventory;
  const usage = new Map<string, Usage>();
  const hostStates = new Map<string, Map<string, number>>();
  const hostCluster = new Map<string, string>();
  for (const h of whole.hosts) {
    if (h.parentMoid === undefined) continue;
    // A disconnected host's quickStats are stale or zero: they say nothing about current use.
    if (h.connectionState === 'connected') {
      const u = usage.get(h.parentMoid) ?? {};
      u.cpuMhz = addDefined(u.cpuMhz, h.cpuUsageMhz);
      u.memBytes = addDefined(u.memBytes, h.memoryUsageBytes);
      usage.set(h.parentMoid, u);
    }
    if (h.connectionState === undefined) continue;
    hostCluster.set(h.moid, h.parentMoid);
    bump(hostStates, h.parentMoid, h.connectionState);
  }
  const vmStates = new Map<string, Map<string, number>>();
  for (const vm of whole.vms) {
    const cluster = vm.hostMoid === undefined ? undefined : hostCluster.get(vm.hostMoid);
    if (vm.template || cluster === undefined || vm.powerState === undefined) continue;
    bump(vmStates, cluster, vm.powerState);
  }

  const fams = new Map(FAMILIES.map((d) => [d, family(d)]));
  const f = (d: (typeof FAMILIES)[number]): MetricFamily => fams.get(d)!;
  const targets: PerfTarget[] = [];
  for (const { object: o, moid, id } of allowedObjects(ctx, 'ClusterComputeResource', 'cluster')) {
    targets.push({ entity: o.obj, labels: id });
    f(INFO).add([...id, tree.datacenterOf(moid)?.name ?? ''], 1);
    const summary = o.props.get('summary');
    const field = (n: string): number | undefined => (summary ? num(child(summary, n)) : undefined);
    addScaled(f(CPU_CAPACITY), id, field('totalCpu'), MHZ);
    addScaled(f(CPU_EFFECTIVE), id, field('effectiveCpu'), MHZ);
    addScaled(f(MEM_CAPACITY), id, field('totalMemory'), 1);
    // vim25 gives effectiveMemory in MiB (totalMemory in bytes); vcsim 0.24 wrongly sums bytes into it.
    addScaled(f(MEM_EFFECTIVE), id, field('effectiveMemory'), MIB);
    addScaled(f(HOSTS), id, field('numHosts'), 1);
    addScaled(f(EFFECTIVE_HOSTS), id, field('numEffectiveHosts'), 1);
    const u = usage.get(moid);
    addScaled(f(CPU_USAGE), id, u?.cpuMhz, MHZ);
    addScaled(f(MEM_USAGE), id, u?.memBytes, 1);
    addCounts(f(HOSTS_BY_STATE), id, CONNECTION_STATES, hostStates.get(moid));
    addCounts(f(VMS_BY_STATE), id, POWER_STATES, vmStates.get(moid));
    addFlag(f(DRS), id, o.props.get('configuration.drsConfig.enabled'));
    addFlag(f(HA), id, o.props.get('configuration.dasConfig.enabled'));
    addClusterHealth(f, id, o.props);
  }
  for (const fam of fams.values()) emit(fam);
  return targets;
}

function addScaled(fam: MetricFamily, id: readonly string[], v: number | undefined, factor: number): void {
  if (v !== undefined) fam.add(id, v * factor);
}

function addFlag(fam: MetricFamily, id: readonly string[], node: XmlNode | undefined): void {
  const b = bool(node);
  if (b !== undefined) fam.add(id, b ? 1 : 0);
}

function addDefined(a: number | undefined, b: number | undefined): number | undefined {
  return b === undefined ? a : (a ?? 0) + b;
}
