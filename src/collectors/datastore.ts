import type { MetricFamily } from '../exposition/index.js';
import type { Inventory } from '../vsphere/inventory.js';
import type { PropertySpec, XmlNode } from '../vsphere/answer-data.js';
import { bool, num, str } from '../vsphere/values.js';
import type { CollectContext, Collector, ObjectFilter } from './collector.js';
import { family, gauge } from './collector.js';
import { specsFor } from './entity-types.js';
import { HistoricalCache } from './historical-cache.js';
import {
  collectHistorical,
  DATASTORE_HISTORICAL,
  historicalFamilyDefs,
  type HistoricalOptions,
} from './historical.js';
import { addStateSet } from './perf-families.js';
import {
  DATASTORE_HOST_COUNTERS,
  DATASTORE_PERF_FAMILIES,
  datastorePerfFamilies,
  instanceMapOf,
} from './datastore-perf.js';

const ID = ['datastore', 'datastore_moid'] as const;
const POD_ID = ['datastore_cluster', 'datastore_cluster_moid'] as const;
const MAINTENANCE_STATES = ['normal', 'enteringMaintenance', 'inMaintenance'] as const;

const g = (name: string, help: string, extra: readonly string[] = []) =>
  gauge(`vsphere_datastore_${name}`, help, [...ID, ...extra]);
const INFO = gauge('vsphere_datastore_info', 'Descriptive labels of a datastore; value is always 1.', [
  ...ID,
  'type',
  'url',
  'datastore_cluster',
  'datacenter',
]);
const CAPACITY = g('capacity_bytes', 'Capacity of the datastore in bytes (summary.capacity).');
const FREE = g('free_bytes', 'Free space on the datastore in bytes (summary.freeSpace).');
const UNCOMMITTED = g(
  'uncommitted_bytes',
  'Space in bytes thin-provisioned disks may still claim on the datastore (summary.uncommitted).',
);
const PROVISIONED = g(
  'provisioned_bytes',
  'Space in bytes provisioned on the datastore: summary.capacity − summary.freeSpace + summary.uncommitted.',
);
const ACCESSIBLE = g('accessible', '1 when the datastore is accessible (summary.accessible).');
const MAINTENANCE = g(
  'maintenance_mode',
  'Maintenance mode of the datastore: 1 for the current state (summary.maintenanceMode).',
  ['state'],
);
const HOSTS = g('hosts', 'Hosts that mount the datastore (number of entries of the host property).');
const VMS = g('vms', 'Virtual machines with files on the datastore (number of entries of the vm property).');
const POD_INFO = gauge(
  'vsphere_datastore_cluster_info',
  'Descriptive labels of a datastore cluster (StoragePod); value is always 1.',
  [...POD_ID, 'datacenter'],
);
const POD_CAPACITY = gauge(
  'vsphere_datastore_cluster_capacity_bytes',
  'Capacity of a datastore cluster in bytes: sum of summary.capacity of its datastores (what StoragePod summary.capacity reports).',
  POD_ID,
);
const POD_FREE = gauge(
  'vsphere_datastore_cluster_free_bytes',
  'Free space of a datastore cluster in bytes: sum of summary.freeSpace of its datastores (what StoragePod summary.freeSpace reports).',
  POD_ID,
);
const DATASTORE_DEFS = [INFO, CAPACITY, FREE, UNCOMMITTED, PROVISIONED, ACCESSIBLE, MAINTENANCE, HOSTS, VMS];
const POD_DEFS = [POD_INFO, POD_CAPACITY, POD_FREE];

const DS_PATHS = [
  'summary.capacity',
  'summary.freeSpace',
  'summary.uncommitted',
  'summary.accessible',
  'summary.maintenanceMode',
  'summary.type',
  'summary.url',
  // Only counted, yet the model keeps them as read: ~2.6 MiB for a datastore holding 10,000 VMs,
  // and vCenter sends the whole array again whenever one VM comes or goes.
  'host',
  'vm',
] as const;

/** What the datastore collector reads from the model: datastores, pods and the folders up to their datacenter. */
export const DATASTORE_PROPERTIES: readonly PropertySpec[] = [
  ...specsFor(['Datastore'], DS_PATHS),
  ...specsFor(['StoragePod', 'Folder', 'Datacenter'], []),
];

/** A datastore as this collector sees it. */
export interface DatastoreRow {
  moid: string;
  name: string;
  path?: string;
  capacity?: number;
  free?: number;
  uncommitted?: number;
  accessible?: boolean;
  maintenanceMode?: string;
  type: string;
  url: string;
  hosts: number;
  vms: number;
  podMoid?: string;
  datacenter: string;
}

/** A datastore cluster (StoragePod). */
export interface PodRow {
  moid: string;
  name: string;
  path?: string;
  datacenter: string;
}

/** The datastores and datastore clusters of an inventory snapshot (pure). */
export function readDatastores(inv: Inventory): { datastores: DatastoreRow[]; pods: PodRow[] } {
  const { tree } = inv;
  const pods = inv.objects('StoragePod').map(({ obj: { value: moid } }) => ({
    moid,
    name: tree.get(moid)?.name ?? moid,
    path: inv.path(moid),
    datacenter: tree.datacenter(moid),
  }));
  const datastores = inv.objects('Datastore').map(({ obj: { value: moid }, props: p }): DatastoreRow => {
    const node = tree.get(moid);
    const parent = tree.get(node?.parent);
    return {
      moid,
      name: node?.name ?? moid,
      path: inv.path(moid),
      capacity: num(p.get('summary.capacity')),
      free: num(p.get('summary.freeSpace')),
      uncommitted: num(p.get('summary.uncommitted')),
      accessible: bool(p.get('summary.accessible')),
      maintenanceMode: str(p.get('summary.maintenanceMode')),
      type: str(p.get('summary.type')) ?? '',
      url: str(p.get('summary.url')) ?? '',
      hosts: arrayLength(p.get('host')),
      vms: arrayLength(p.get('vm')),
      podMoid: parent?.type === 'StoragePod' ? parent.moid : undefined,
      datacenter: tree.datacenter(moid),
    };
  });
  return { datastores, pods };
}

// vCenter leaves an empty array out of the propSet altogether, so absent means none.
function arrayLength(node: XmlNode | undefined): number {
  return node?.children.length ?? 0;
}

const HISTORICAL = { prefix: 'vsphere_datastore', labelNames: ID, defs: DATASTORE_HISTORICAL };

/** Datastores (capacity, usage, state, mounts) and datastore clusters (StoragePods); optionally 5-minute historical counters. */
export function createDatastoreCollector(options: HistoricalOptions = {}): Collector {
  const cache = options.historical ? new HistoricalCache() : undefined;
  return {
    name: 'datastore',
    properties: DATASTORE_PROPERTIES,
    hostCounters: DATASTORE_HOST_COUNTERS,
    families: [
      ...DATASTORE_DEFS,
      ...POD_DEFS,
      ...DATASTORE_PERF_FAMILIES,
      ...historicalFamilyDefs(HISTORICAL),
    ],
    async collect(ctx: CollectContext, emit): Promise<void> {
      const { datastores, pods } = readDatastores(ctx.inventory);
      for (const f of datastoreFamilies(datastores, pods, ctx.filter)) emit(f);
      if (!ctx.hostPerf && !cache) return;
      const allowed = datastores.filter((ds) =>
        ctx.filter.allows('datastore', { name: ds.name, path: ds.path }),
      );
      if (ctx.hostPerf) {
        const [samples, catalogue] = await Promise.all([
          ctx.hostPerf.samples(ctx),
          ctx.perf.counters(ctx.signal),
        ]);
        const map = instanceMapOf(ctx.wholeInventory ?? ctx.inventory);
        for (const f of datastorePerfFamilies(samples, catalogue, map, allowed)) emit(f);
      }
      if (!cache) return;
      const targets = allowed.map((ds) => ({
        entity: { type: 'Datastore', value: ds.moid },
        labels: [ds.name, ds.moid],
      }));
      for (const f of await collectHistorical(ctx, cache, HISTORICAL, targets)) emit(f);
    },
  };
}

/** The datastore collector with default options. */
export const datastoreCollector: Collector = createDatastoreCollector();

/** The families for the datastores and pods `filter` allows (pure; exported for tests). */
export function datastoreFamilies(
  datastores: readonly DatastoreRow[],
  pods: readonly PodRow[],
  filter: ObjectFilter,
): MetricFamily[] {
  const [info, capacity, free, uncommitted, provisioned, accessible, maintenance, hosts, vms] =
    DATASTORE_DEFS.map(family) as [
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
    ];
  const [podInfo, podCapacity, podFree] = POD_DEFS.map(family) as [MetricFamily, MetricFamily, MetricFamily];
  const podNames = new Map(pods.map((p) => [p.moid, p.name]));
  // StoragePod summary is only refreshed periodically by vCenter (and never by vcsim); the sum of its
  // datastores from this same read is what it converges to, and agrees with the per-datastore series.
  // It counts every datastore in the pod, including ones filtered out of the per-datastore series.
  const totals = new Map(pods.map((p) => [p.moid, { capacity: 0, free: 0 }]));
  for (const ds of datastores) {
    const t = ds.podMoid === undefined ? undefined : totals.get(ds.podMoid);
    if (t) {
      t.capacity += ds.capacity ?? 0;
      t.free += ds.free ?? 0;
    }
    if (!filter.allows('datastore', { name: ds.name, path: ds.path })) continue;
    const id = [ds.name, ds.moid];
    const podName = ds.podMoid === undefined ? '' : (podNames.get(ds.podMoid) ?? '');
    info.add([...id, ds.type, ds.url, podName, ds.datacenter], 1);
    if (ds.capacity !== undefined) capacity.add(id, ds.capacity);
    if (ds.free !== undefined) free.add(id, ds.free);
    if (ds.uncommitted !== undefined) uncommitted.add(id, ds.uncommitted);
    if (ds.capacity !== undefined && ds.free !== undefined && ds.uncommitted !== undefined)
      provisioned.add(id, ds.capacity - ds.free + ds.uncommitted);
    if (ds.accessible !== undefined) accessible.add(id, ds.accessible ? 1 : 0);
    if (ds.maintenanceMode !== undefined)
      addStateSet(maintenance, id, MAINTENANCE_STATES, ds.maintenanceMode);
    hosts.add(id, ds.hosts);
    vms.add(id, ds.vms);
  }
  // Datastore clusters go through the datastore filter: they are this collector's objects.
  for (const pod of pods) {
    if (!filter.allows('datastore', { name: pod.name, path: pod.path })) continue;
    const id = [pod.name, pod.moid];
    podInfo.add([...id, pod.datacenter], 1);
    const t = totals.get(pod.moid);
    if (t) {
      podCapacity.add(id, t.capacity);
      podFree.add(id, t.free);
    }
  }
  return [
    info,
    capacity,
    free,
    uncommitted,
    provisioned,
    accessible,
    maintenance,
    hosts,
    vms,
    podInfo,
    podCapacity,
    podFree,
  ];
}
