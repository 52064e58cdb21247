import type { MetricFamily } from '../exposition/index.js';
import { child, type XmlNode } from '../vsphere/answer-data.js';
import { bool, num, str } from '../vsphere/values.js';
import type { CollectContext, Collector } from './collector.js';
import { family, gauge } from './collector.js';
import { specsFor } from './entity-types.js';
import { allowedObjects } from './object-kind.js';

const ID = ['cluster', 'cluster_moid'] as const;
const DS_ID = [...ID, 'datastore', 'datastore_moid'] as const;

const ENABLED = gauge(
  'vsphere_cluster_vsan_enabled',
  '1 when vSAN is enabled on the cluster (configurationEx.vsanConfigInfo.enabled), 0 when it is not or the cluster has no vSAN configuration.',
  ID,
);
const INFO = gauge(
  'vsphere_cluster_vsan_info',
  'The vSAN cluster of a vSAN-enabled cluster: vsan_cluster_uuid is configurationEx.vsanConfigInfo.defaultConfig.uuid; value is always 1.',
  [...ID, 'vsan_cluster_uuid'],
);
const AUTO_CLAIM = gauge(
  'vsphere_cluster_vsan_auto_claim_storage',
  '1 when vSAN claims the local disks of the hosts by itself (configurationEx.vsanConfigInfo.defaultConfig.autoClaimStorage); absent when vCenter does not say.',
  ID,
);
const CHECKSUM = gauge(
  'vsphere_cluster_vsan_checksum_enabled',
  '1 when vSAN checksums objects by default (configurationEx.vsanConfigInfo.defaultConfig.checksumEnabled); absent when vCenter does not say.',
  ID,
);
const DS_CAPACITY = gauge(
  'vsphere_cluster_vsan_datastore_capacity_bytes',
  'Capacity in bytes of each vSAN datastore (summary.type "vsan") the cluster mounts (the cluster\'s datastore property), from the datastore\'s summary.capacity.',
  DS_ID,
);
const DS_FREE = gauge(
  'vsphere_cluster_vsan_datastore_free_bytes',
  'Free space in bytes of each vSAN datastore (summary.type "vsan") the cluster mounts, from the datastore\'s summary.freeSpace.',
  DS_ID,
);
const FAMILIES = [ENABLED, INFO, AUTO_CLAIM, CHECKSUM, DS_CAPACITY, DS_FREE] as const;

// configurationEx is read whole: vsanConfigInfo belongs to its subtype ClusterConfigInfoEx, and
// vCenter's PropertyCollector refuses a path through a field of a subtype of the declared type
// (ComputeResourceConfigInfo) with InvalidProperty, which would fail the model's one filter.
// vCenter sends it again only when the cluster's configuration changes.
const PROPERTIES: NonNullable<Collector['properties']> = [
  ...specsFor(['ClusterComputeResource'], ['configurationEx', 'datastore']),
  ...specsFor(['Datastore'], ['summary.type', 'summary.capacity', 'summary.freeSpace']),
  ...specsFor(['Folder', 'Datacenter'], []),
];

/** A cluster's vSAN configuration as read from configurationEx (ClusterConfigInfoEx.vsanConfigInfo). */
export interface VsanConfig {
  /** undefined: vsanConfigInfo.enabled is there but not a boolean (nothing is said then). */
  enabled: boolean | undefined;
  uuid?: string;
  autoClaimStorage?: boolean;
  checksumEnabled?: boolean;
}

/**
 * configurationEx → its vSAN configuration; undefined when configurationEx is absent. A cluster
 * with no vsanConfigInfo (vcsim before vSAN is configured) counts as not enabled.
 */
export function decodeVsanConfig(configurationEx: XmlNode | undefined): VsanConfig | undefined {
  if (!configurationEx) return undefined;
  const info = child(configurationEx, 'vsanConfigInfo');
  const defaults = info && child(info, 'defaultConfig');
  const uuid = str(defaults && child(defaults, 'uuid'))?.trim();
  return {
    enabled: info ? bool(child(info, 'enabled')) : false,
    ...(uuid ? { uuid } : {}),
    autoClaimStorage: bool(defaults && child(defaults, 'autoClaimStorage')),
    checksumEnabled: bool(defaults && child(defaults, 'checksumEnabled')),
  };
}

/** Moids of the `datastore` property (ArrayOfManagedObjectReference) of a cluster. */
function datastoreMoids(val: XmlNode | undefined): string[] {
  return (val?.children ?? []).map((c) => c.text.trim()).filter((m) => m !== '');
}

/**
 * vSAN per cluster, from the inventory model only (no vSAN management API call): whether it is
 * enabled, its default configuration, and capacity and free space of the vSAN datastores the
 * cluster mounts. vSAN health and performance need the vSAN SDK's own managed objects (not covered).
 */
export const vsanCollector: Collector = {
  name: 'vsan',
  properties: PROPERTIES,
  families: FAMILIES,
  collect(ctx: CollectContext, emit): Promise<void> {
    const { tree } = ctx.inventory;
    const [enabled, info, autoClaim, checksum, dsCapacity, dsFree] = FAMILIES.map(family) as [
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
    ];
    // Datastores by moid: a Map (moids are vCenter's data); only the vSAN ones.
    const vsanDatastores = new Map<string, { name: string; capacity?: number; free?: number }>();
    for (const o of ctx.inventory.objects('Datastore')) {
      if (str(o.props.get('summary.type')) !== 'vsan') continue;
      vsanDatastores.set(o.obj.value, {
        name: tree.get(o.obj.value)?.name ?? o.obj.value,
        capacity: num(o.props.get('summary.capacity')),
        free: num(o.props.get('summary.freeSpace')),
      });
    }
    for (const { object: o, id } of allowedObjects(ctx, 'ClusterComputeResource', 'cluster')) {
      const config = decodeVsanConfig(o.props.get('configurationEx'));
      if (config) {
        if (config.enabled !== undefined) enabled.add(id, config.enabled ? 1 : 0);
        if (config.enabled) {
          if (config.uuid !== undefined) info.add([...id, config.uuid], 1);
          if (config.autoClaimStorage !== undefined) autoClaim.add(id, config.autoClaimStorage ? 1 : 0);
          if (config.checksumEnabled !== undefined) checksum.add(id, config.checksumEnabled ? 1 : 0);
        }
      }
      for (const dsMoid of new Set(datastoreMoids(o.props.get('datastore')))) {
        const ds = vsanDatastores.get(dsMoid);
        if (!ds) continue;
        const dsId = [...id, ds.name, dsMoid];
        if (ds.capacity !== undefined) dsCapacity.add(dsId, ds.capacity);
        if (ds.free !== undefined) dsFree.add(dsId, ds.free);
      }
    }
    for (const f of [enabled, info, autoClaim, checksum, dsCapacity, dsFree]) emit(f);
    return Promise.resolve();
  },
};
