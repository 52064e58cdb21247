import { MetricFamily, renderLabels } from '../exposition/index.js';
import type { MoRef } from '../vsphere/soap/envelope.js';
import type { PerfManager } from '../vsphere/perf-manager.js';
import { perInterval, toBaseUnit } from '../vsphere/units.js';
import type { PerfMetricDef } from './perf-metrics.js';
import type { FamilyDef } from './collector.js';

/** An entity to query, with the identity label values its series carry. */
export interface PerfTarget {
  entity: MoRef;
  labels: readonly string[];
}

/**
 * Runs realtime QueryPerf for `targets` over the counters in `defs` that vCenter's catalogue has
 * (with the unit we convert from), and returns one family per counter, values in base units.
 */
export async function collectPerfFamilies(
  perf: PerfManager,
  prefix: string,
  labelNames: readonly string[],
  defs: readonly PerfMetricDef[],
  targets: readonly PerfTarget[],
  signal: AbortSignal,
): Promise<MetricFamily[]> {
  const catalogue = await perf.counters(signal);
  const byKey = new Map<number, { def: PerfMetricDef; family: MetricFamily }>();
  for (const def of defs) {
    const c = catalogue.get(def.counter);
    if (!c || c.unit !== def.unit) continue;
    byKey.set(c.key, {
      def,
      family: new MetricFamily(`${prefix}_${def.metric}`, def.help, 'gauge', labelNames),
    });
  }
  if (byKey.size === 0 || targets.length === 0) return [...byKey.values()].map((v) => v.family);
  const counterIds = [...byKey.keys()];
  const labelsByMoid = new Map(targets.map((t) => [t.entity.value, renderLabels(labelNames, t.labels)]));
  await perf.queryRealtime(
    targets.map((t) => ({ entity: t.entity, counterIds })),
    signal,
    (s) => {
      const slot = byKey.get(s.counterId);
      const labels = labelsByMoid.get(s.entity.value);
      // Only the aggregate instance ("") is asked for; anything else is not ours to export here.
      if (!slot || !labels || s.instance !== '') return;
      const base = toBaseUnit(s.value, slot.def.unit);
      // A summation sample without a usable interval cannot be turned into a rate.
      if (base === undefined || (slot.def.perInterval && !(s.intervalSeconds > 0))) return;
      slot.family.addRendered(labels, slot.def.perInterval ? perInterval(base, s.intervalSeconds) : base);
    },
  );
  return [...byKey.values()].map((v) => v.family);
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
    labels: labelNames,
  }));
}

/** Adds one series per `states` entry: 1 for the current state, 0 for the others (kube-state-metrics style). */
export function addStateSet(
  family: MetricFamily,
  labels: readonly string[],
  states: readonly string[],
  current: string | undefined,
): void {
  for (const s of states) family.add([...labels, s], s === current ? 1 : 0);
  // A state vCenter added after this list was written is still shown rather than lost.
  if (current !== undefined && !states.includes(current)) family.add([...labels, current], 1);
}
