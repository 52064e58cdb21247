import { setImmediate as nextTurn } from 'node:timers/promises';
import { MetricFamily, RenderedLabels, renderLabels } from '../exposition/index.js';
import type { MoRef } from '../vsphere/answer-data.js';
import { instanceAt, sampleAt, type PerfManager, type PerfSample } from '../vsphere/perf-manager.js';
import { perInterval, toBaseUnit } from '../vsphere/units.js';
import { CATALOGUE_UNIT, extraCounterSuffix, type PerfMetricDef } from './perf-metrics.js';
import type { FamilyDef } from './collector.js';

/** Counters another collector wants in the same QueryPerf (every instance), and where their samples go. */
export interface SharedCounters {
  counters: readonly string[];
  onSample(s: PerfSample): void;
}

/** An entity to query, with the identity label values its series carry. */
export interface PerfTarget {
  entity: MoRef;
  labels: readonly string[];
  /** `labels` already rendered for the collector's label names (rendered here otherwise). */
  rendered?: RenderedLabels;
}

/**
 * Runs realtime QueryPerf for `targets` over the counters in `defs` that vCenter's catalogue has
 * (with the unit we convert from), and returns one family per def, values in base units. A def
 * with `instanceLabel` is per instance: its counter is read with instance "*" and every non-aggregate
 * instance it owns (`ownInstances`) becomes a series labelled with it, while "" still feeds the
 * aggregate def of that counter. `shared` counters ride along in the same requests (instance "*")
 * and every sample of theirs is handed to `shared.onSample` as well.
 */
export async function collectPerfFamilies(
  perf: PerfManager,
  prefix: string,
  labelNames: readonly string[],
  defs: readonly PerfMetricDef[],
  targets: readonly PerfTarget[],
  signal: AbortSignal,
  shared?: SharedCounters,
): Promise<MetricFamily[]> {
  const catalogue = await perf.counters(signal);
  const byKey = new Map<number, { aggregate?: Slot; instance?: Slot }>();
  const families: MetricFamily[] = [];
  for (const configured of defs) {
    const c = catalogue.get(configured.counter);
    const def = c && resolveUnit(configured, c.unit);
    if (!c || !def || c.unit !== def.unit) continue;
    const names = def.instanceLabel === undefined ? labelNames : [...labelNames, def.instanceLabel];
    const slot = { def, family: new MetricFamily(`${prefix}_${def.metric}`, def.help, 'gauge', names) };
    families.push(slot.family);
    const entry = byKey.get(c.key) ?? {};
    if (def.instanceLabel === undefined) entry.aggregate = slot;
    else entry.instance = slot;
    byKey.set(c.key, entry);
  }
  const sharedIds = new Set(shared?.counters.flatMap((n) => catalogue.get(n)?.key ?? []));
  if ((byKey.size === 0 && sharedIds.size === 0) || targets.length === 0) return families;
  // "*" also answers the aggregate "", so a shared counter is asked once, for every instance.
  const counterIds = [...byKey].filter(([k, e]) => !e.instance && !sharedIds.has(k)).map(([k]) => k);
  const instanceCounterIds = [
    ...new Set([...[...byKey].filter(([, e]) => e.instance).map(([k]) => k), ...sharedIds]),
  ];
  const byMoid = new Map(
    targets.map((t) => [
      t.entity.value,
      { rendered: t.rendered ?? renderLabels(labelNames, t.labels), labels: t.labels },
    ]),
  );
  await perf.queryRealtimeEntities(
    targets.map((t) =>
      instanceCounterIds.length
        ? { entity: t.entity, counterIds, instanceCounterIds }
        : { entity: t.entity, counterIds },
    ),
    signal,
    (e) => {
      const target = byMoid.get(e.entity.value);
      const { counterIds: ids, values, intervalSeconds } = e;
      for (let i = e.start; i < e.end; i++) {
        const counterId = ids[i]!;
        const instance = instanceAt(e, i);
        if (sharedIds.has(counterId)) shared!.onSample(sampleAt(e, i));
        const entry = byKey.get(counterId);
        // "*" echoed back is a server that did not expand it, not an instance.
        const slot = instance === '' ? entry?.aggregate : instance === '*' ? undefined : entry?.instance;
        if (!slot || !target) continue;
        const def = slot.def;
        if (instance !== '' && def.ownInstances && !def.ownInstances.test(instance)) continue;
        const base = toBaseUnit(values[i]!, def.unit);
        // A summation sample without a usable interval cannot be turned into a rate.
        if (base === undefined || (def.perInterval && !(intervalSeconds > 0))) continue;
        const value = def.perInterval ? perInterval(base, intervalSeconds) : base;
        if (instance === '') slot.family.addRendered(target.rendered, value);
        else slot.family.add([...target.labels, instance], value);
      }
    },
  );
  return families;
}

// An extra counter's unit and name suffix come from the catalogue; a unit we cannot convert is skipped.
function resolveUnit(def: PerfMetricDef, unit: string): PerfMetricDef | undefined {
  if (def.unit !== CATALOGUE_UNIT) return def;
  const suffix = extraCounterSuffix(unit, def.perInterval === true);
  if (suffix === undefined) return undefined;
  return { ...def, unit, metric: suffix === '' ? def.metric : `${def.metric}_${suffix}` };
}

interface Slot {
  def: PerfMetricDef;
  family: MetricFamily;
}

/**
 * collectPerfFamilies started, resolved on the next turn of the event loop, when its first QueryPerf
 * calls are on the wire: the caller then builds its inventory families while vCenter works on them
 * (at 10,000 VMs that is ~100 ms the calls would otherwise wait for, at every latency).
 */
export async function perfFamiliesInFlight(
  ...args: Parameters<typeof collectPerfFamilies>
): Promise<{ families: Promise<MetricFamily[]> }> {
  const families = collectPerfFamilies(...args);
  // Awaited by the caller after its own work; a failure must not count as unhandled before then.
  families.catch(() => undefined);
  await nextTurn();
  return { families };
}

/** The FamilyDefs collectPerfFamilies can emit for `defs` (for the generated metric reference). */
export function perfFamilyDefs(
  prefix: string,
  labelNames: readonly string[],
  defs: readonly PerfMetricDef[],
): FamilyDef[] {
  return defs.map((d) => ({
    name: `${prefix}_${d.metric}`,
    help: d.help,
    type: 'gauge',
    labels: d.instanceLabel === undefined ? labelNames : [...labelNames, d.instanceLabel],
  }));
}

/** Adds one series per `states` entry: 1 for the current state, 0 for the others (kube-state-metrics style). */
export function addStateSet(
  family: MetricFamily,
  labels: readonly string[] | RenderedLabels,
  states: readonly string[],
  current: string | undefined,
): void {
  for (const s of states) addState(family, labels, s, s === current ? 1 : 0);
  // A state vCenter added after this list was written is still shown rather than lost.
  if (current !== undefined && !states.includes(current)) addState(family, labels, current, 1);
}

function addState(
  family: MetricFamily,
  labels: readonly string[] | RenderedLabels,
  state: string,
  value: number,
): void {
  if (labels instanceof RenderedLabels) family.addRenderedWith(labels, state, value);
  else family.add([...labels, state], value);
}
