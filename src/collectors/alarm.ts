import type { MetricFamily } from '../exposition/index.js';
import type { Inventory } from '../vsphere/inventory.js';
import { child, type PropertySpec, type XmlNode } from '../vsphere/answer-data.js';
import { bool, epochSeconds, moRef, str } from '../vsphere/values.js';
import type { CollectContext, Collector, ObjectFilter } from './collector.js';
import { family, gauge } from './collector.js';
import { MANAGED_ENTITY_TYPES, specsFor } from './entity-types.js';
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
const NON_VM_TYPES = MANAGED_ENTITY_TYPES.filter((t) => t !== 'VirtualMachine');

/** What the alarm collector reads from the model: status and triggered alarms of every managed entity but VMs, whose status is a typed field. */
export const ALARM_PROPERTIES: readonly PropertySpec[] = [
  ...specsFor(NON_VM_TYPES, ['overallStatus', 'triggeredAlarmState']),
  { type: 'VirtualMachine', pathSet: ['name', 'parent', 'overallStatus'] },
];

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

/** An entity of the model with its status and every triggeredAlarmState entry it carries (its descendants' too). */
interface EntityStates {
  entity: EntityAlarms;
  states: TriggeredAlarm[];
}

// Each entity's triggeredAlarmState decoded once: its own entries, and those it carries for its VMs.
function entityStates(inv: Inventory): EntityStates[] {
  const out: EntityStates[] = [];
  for (const type of NON_VM_TYPES) {
    for (const { obj, props } of inv.objects(type)) {
      const moid = obj.value;
      const states = decodeAlarmStates(props.get('triggeredAlarmState'));
      out.push({
        entity: {
          type,
          moid,
          name: inv.tree.get(moid)?.name ?? moid,
          path: inv.path(moid),
          status: str(props.get('overallStatus')),
          // vCenter propagates a triggered alarm up to every ancestor: keep it only on its own entity.
          alarms: states.filter((a) => a.entityMoid === moid),
        },
        states,
      });
    }
  }
  return out;
}

/** Every managed entity but VMs, with its status and own alarms, from an inventory snapshot (pure). */
export function readEntities(inv: Inventory): EntityAlarms[] {
  return entityStates(inv).map((e) => e.entity);
}

/**
 * The VMs of the (already filtered) inventory as entities: status from the inventory, alarms from
 * the ancestors' propagated triggeredAlarmState entries naming them (pure; exported for tests).
 */
export function vmEntities(
  vms: readonly { moid: string; name: string; overallStatus?: string }[],
  carried: Iterable<readonly TriggeredAlarm[]>,
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
  for (const states of carried) {
    for (const a of states) {
      const vm = byMoid.get(a.entityMoid);
      // Each ancestor repeats the entry: keep one per alarm.
      if (vm && !vm.alarms.some((x) => x.alarmMoid === a.alarmMoid)) vm.alarms.push(a);
    }
  }
  return [...byMoid.values()];
}

/** The entities `ctx.filter` allows, VMs included, with their status and own alarms (pure). */
export function alarmEntities(ctx: Pick<CollectContext, 'inventory' | 'filter'>): EntityAlarms[] {
  const inv = ctx.inventory;
  const others = entityStates(inv);
  const vms = vmEntities(
    inv.vms,
    others.map((e) => e.states),
    (moid) => inv.path(moid),
  );
  return [...others.map((e) => e.entity), ...vms].filter((e) => entityAllowed(ctx.filter, e));
}

/** Whether `filter` lets `e` through (types no collector owns, such as folders and networks, always pass). */
export function entityAllowed(filter: ObjectFilter, e: EntityAlarms): boolean {
  const kind = kindOfType(e.type);
  return kind === undefined || filter.allows(kind, { name: e.name, path: e.path });
}

/** Triggered alarms and the overall status of every managed entity (VMs through the inventory). */
export const alarmCollector: Collector = {
  name: 'alarm',
  properties: ALARM_PROPERTIES,
  families: DEFS,
  collect(ctx: CollectContext, emit): Promise<void> {
    for (const f of alarmFamilies(entitiesOf(ctx), ctx.inventory.alarmNames)) emit(f);
    return Promise.resolve();
  },
};

// A snapshot with no change since the last collection is the same object: its entities (every
// entity's triggeredAlarmState decoded, 10,000 VMs placed) are found once, not per scrape. Keyed by
// the whole snapshot: a filtered one is a new object each collection, but a function of it and
// the filter.
const entitiesBySnapshot = new WeakMap<Inventory, { filter: ObjectFilter; entities: EntityAlarms[] }>();

function entitiesOf(ctx: Pick<CollectContext, 'inventory' | 'wholeInventory' | 'filter'>): EntityAlarms[] {
  const snapshot = ctx.wholeInventory ?? ctx.inventory;
  const got = entitiesBySnapshot.get(snapshot);
  if (got?.filter === ctx.filter) return got.entities;
  const entities = alarmEntities(ctx);
  entitiesBySnapshot.set(snapshot, { filter: ctx.filter, entities });
  return entities;
}

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
