import type { MetricFamily } from '../exposition/index.js';
import { retrieveOne, type ObjectContent, type PropertySpec } from '../vsphere/property-collector.js';
import { isVsphereError } from '../vsphere/soap/errors.js';
import type { XmlNode } from '../vsphere/soap/xml.js';
import { child } from '../vsphere/soap/xml.js';
import { bool, epochSeconds, moRef, str } from '../vsphere/values.js';
import type { CollectContext, Collector, ObjectFilter } from './collector.js';
import { family, gauge, readView } from './collector.js';
import { EntityTree } from '../vsphere/entity-tree.js';
import { kindOfType } from './object-kind.js';

const ENTITY = ['entity_type', 'entity', 'entity_moid'] as const;
const ALARM_LABELS = [...ENTITY, 'alarm', 'alarm_moid', 'status'] as const;

const TRIGGERED = gauge(
  'vsphere_alarm_triggered',
  'An alarm triggered on an entity; value is always 1, status is its yellow/red level (triggeredAlarmState[].overallStatus; alarm is the Alarm info.name).',
  ALARM_LABELS,
);
const TRIGGERED_TIME = gauge(
  'vsphere_alarm_triggered_timestamp_seconds',
  'Unix time the alarm was triggered on the entity (triggeredAlarmState[].time).',
  ALARM_LABELS,
);
const ACKNOWLEDGED = gauge(
  'vsphere_alarm_acknowledged',
  '1 when the triggered alarm has been acknowledged (triggeredAlarmState[].acknowledged).',
  ALARM_LABELS,
);
const OVERALL = gauge(
  'vsphere_entity_overall_status',
  'Overall status of a managed entity (overallStatus): 0 gray (unknown), 1 green, 2 yellow, 3 red.',
  ENTITY,
);
const DEFS = [TRIGGERED, TRIGGERED_TIME, ACKNOWLEDGED, OVERALL];

/** ManagedEntity.overallStatus as one number, so 10,000+ entities cost one series each. */
export const STATUS_VALUES: Readonly<Record<string, number>> = { gray: 0, green: 1, yellow: 2, red: 3 };

// Every ManagedEntity type except VirtualMachine. VMs are most of a large inventory: their status
// comes from the VM inventory (overallStatus), and their triggered alarms from their ancestors,
// whose triggeredAlarmState lists the alarms of all descendants (vSphere API: "triggered by this
// entity or by its descendants"). So a 10,000-VM vCenter costs this collector a few hundred objects.
const NON_VM_TYPES = [
  'Folder',
  'Datacenter',
  'ComputeResource',
  'ClusterComputeResource',
  'HostSystem',
  'ResourcePool',
  'VirtualApp',
  'Datastore',
  'StoragePod',
  'Network',
  'DistributedVirtualPortgroup',
  'OpaqueNetwork',
  'DistributedVirtualSwitch',
  'VmwareDistributedVirtualSwitch',
] as const;

/** One ContainerView of every managed entity but VMs: folders, datacenters, compute, pools, datastores, pods, networks. */
export const ALARM_SPECS: readonly PropertySpec[] = NON_VM_TYPES.map((type) => ({
  type,
  pathSet: ['name', 'parent', 'overallStatus', 'triggeredAlarmState'],
}));

/** One entry of triggeredAlarmState. */
export interface TriggeredAlarm {
  entityMoid: string;
  alarmMoid: string;
  status: string;
  time?: number;
  acknowledged?: boolean;
}

/** An entity with its status and the alarms triggered on it (not on its descendants). */
export interface EntityAlarms {
  type: string;
  moid: string;
  name: string;
  path?: string;
  status?: string;
  alarms: TriggeredAlarm[];
}

/** Decodes an ArrayOfAlarmState; malformed entries (no entity, alarm or status) are skipped. */
export function decodeAlarmStates(val: XmlNode | undefined): TriggeredAlarm[] {
  const out: TriggeredAlarm[] = [];
  for (const s of val?.children ?? []) {
    const entity = moRef(child(s, 'entity'));
    const alarm = moRef(child(s, 'alarm'));
    const status = str(child(s, 'overallStatus'));
    if (!entity || !alarm || !status) continue;
    out.push({
      entityMoid: entity.value,
      alarmMoid: alarm.value,
      status,
      time: epochSeconds(child(s, 'time')),
      acknowledged: bool(child(s, 'acknowledged')),
    });
  }
  return out;
}

/** Entities of one read with their own alarms (pure; exported for tests). */
export function readEntities(objects: readonly ObjectContent[], rootMoid: string): EntityAlarms[] {
  const tree = EntityTree.fromObjects(objects, rootMoid);
  const out: EntityAlarms[] = [];
  const seen = new Set<string>();
  for (const o of objects) {
    const moid = o.obj.value;
    if (seen.has(moid)) continue;
    seen.add(moid);
    out.push({
      type: o.obj.type,
      moid,
      name: str(o.props.get('name')) ?? moid,
      path: tree.path(moid),
      status: str(o.props.get('overallStatus')),
      // vCenter propagates a triggered alarm up to every ancestor: keep it only on its own entity.
      alarms: decodeAlarmStates(o.props.get('triggeredAlarmState')).filter((a) => a.entityMoid === moid),
    });
  }
  return out;
}

/**
 * The VMs of the (already filtered) inventory as entities: status from the inventory, alarms from
 * the ancestors' propagated triggeredAlarmState entries naming them (pure; exported for tests).
 */
export function vmEntities(
  vms: readonly { moid: string; name: string; overallStatus?: string }[],
  objects: readonly ObjectContent[],
  path: (moid: string) => string | undefined,
): EntityAlarms[] {
  const byMoid = new Map<string, EntityAlarms>();
  for (const vm of vms) {
    byMoid.set(vm.moid, {
      type: 'VirtualMachine',
      moid: vm.moid,
      name: vm.name,
      path: path(vm.moid),
      status: vm.overallStatus,
      alarms: [],
    });
  }
  for (const o of objects) {
    for (const a of decodeAlarmStates(o.props.get('triggeredAlarmState'))) {
      const vm = byMoid.get(a.entityMoid);
      // Each ancestor repeats the entry: keep one per alarm.
      if (vm && !vm.alarms.some((x) => x.alarmMoid === a.alarmMoid)) vm.alarms.push(a);
    }
  }
  return [...byMoid.values()];
}

/** Whether `filter` lets `e` through (types no collector owns, such as folders and networks, always pass). */
export function entityAllowed(filter: ObjectFilter, e: EntityAlarms): boolean {
  const kind = kindOfType(e.type);
  return kind === undefined || filter.allows(kind, { name: e.name, path: e.path });
}

// Distinct triggered alarms are few (tens), but a vCenter in a storm may have hundreds: bound the fan-out.
const NAME_CONCURRENCY = 8;

/** Alarm names (info.name) for `moids`, one RetrievePropertiesEx each (one missing object would fault a batched read); an alarm deleted meanwhile gets "". */
async function alarmNames(ctx: CollectContext, moids: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < moids.length) {
      const moid = moids[next++]!;
      try {
        const props = await retrieveOne(
          ctx.client,
          { type: 'Alarm', value: moid },
          ['info.name'],
          ctx.signal,
        );
        names.set(moid, str(props.get('info.name')) ?? '');
      } catch (e) {
        // Only a vanished alarm is expected here; anything else (session, network) fails the collector.
        if (!isVsphereError(e, 'VSPHERE_MANAGED_OBJECT_NOT_FOUND')) throw e;
        ctx.logger.debug({ alarm: moid }, 'triggered alarm deleted before its name was read');
        names.set(moid, '');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(NAME_CONCURRENCY, moids.length) }, worker));
  return names;
}

/** Triggered alarms and the overall status of every managed entity (VMs through the inventory). */
export const alarmCollector: Collector = {
  name: 'alarm',
  viewSpecs: ALARM_SPECS,
  families: DEFS,
  async collect(ctx: CollectContext, emit): Promise<void> {
    const content = await ctx.client.content(ctx.signal);
    const objects = await readView(ctx, ALARM_SPECS);
    const vms = vmEntities(ctx.inventory.vms, objects, (moid) => ctx.inventory.path?.(moid));
    const entities = [...readEntities(objects, content.rootFolder.value), ...vms].filter((e) =>
      entityAllowed(ctx.filter, e),
    );
    const alarmMoids = [...new Set(entities.flatMap((e) => e.alarms.map((a) => a.alarmMoid)))];
    const names = await alarmNames(ctx, alarmMoids);
    for (const f of alarmFamilies(entities, names)) emit(f);
  },
};

/** The families for already filtered `entities` (pure; exported for tests). */
export function alarmFamilies(
  entities: readonly EntityAlarms[],
  names: ReadonlyMap<string, string>,
): MetricFamily[] {
  const [triggered, time, acknowledged, overall] = DEFS.map(family) as [
    MetricFamily,
    MetricFamily,
    MetricFamily,
    MetricFamily,
  ];
  for (const e of entities) {
    const id = [e.type, e.name, e.moid];
    // The status string comes from vCenter: only the four known ones are looked up.
    const status =
      e.status !== undefined && Object.hasOwn(STATUS_VALUES, e.status) ? STATUS_VALUES[e.status] : undefined;
    if (status !== undefined) overall.add(id, status);
    const seen = new Set<string>();
    for (const a of e.alarms) {
      // The same alarm twice on one entity would be a duplicate series; the first entry wins.
      if (seen.has(a.alarmMoid)) continue;
      seen.add(a.alarmMoid);
      const labels = [...id, names.get(a.alarmMoid) ?? '', a.alarmMoid, a.status];
      triggered.add(labels, 1);
      if (a.time !== undefined) time.add(labels, a.time);
      if (a.acknowledged !== undefined) acknowledged.add(labels, a.acknowledged ? 1 : 0);
    }
  }
  return [triggered, time, acknowledged, overall];
}
