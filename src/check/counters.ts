import {
  CLUSTER_HISTORICAL,
  DATASTORE_HISTORICAL,
  RESOURCE_POOL_HISTORICAL,
} from '../collectors/historical.js';
import { HOST_INSTANCE_PERF, VM_INSTANCE_PERF } from '../collectors/perf-instance-metrics.js';
import { DATASTORE_PERF } from '../collectors/datastore-perf.js';
import {
  CATALOGUE_UNIT,
  extraCounterSuffix,
  HOST_PERF,
  VM_PERF,
  type PerfMetricDef,
} from '../collectors/perf-metrics.js';
import type { CollectorOptions, TargetConfig } from '../config/schema.js';
import type { PerfCounter } from '../vsphere/perf-manager.js';
import { baseUnit } from '../vsphere/units.js';

/** One counter the target's configuration would query, with where it comes from. */
export interface WantedCounter {
  /** `group.name.rollup`. */
  counter: string;
  /** Unit the exporter converts from, or CATALOGUE_UNIT for extra counters. */
  unit: string;
  /** Summation read as a per-interval rate (decides whether an extra counter's unit is usable). */
  perInterval: boolean;
  /** What asks for it, e.g. "vm", "vm.extra_counters", "cluster (historical.enabled)". */
  sources: string[];
}

/** A configured counter that the exporter cannot export from this vCenter. */
export interface CounterProblem {
  counter: string;
  sources: string[];
  /** Why: absent from the catalogue, a unit the exporter does not convert, or a summation with no per-second form. */
  reason: string;
}

/** Every counter the enabled collectors of `t` would query, deduplicated, in a stable order. */
export function wantedCounters(t: TargetConfig, options: CollectorOptions): WantedCounter[] {
  const byName = new Map<string, WantedCounter>();
  const add = (defs: readonly Pick<PerfMetricDef, 'counter' | 'unit' | 'perInterval'>[], source: string) => {
    for (const d of defs) {
      const have = byName.get(d.counter);
      if (have) {
        if (!have.sources.includes(source)) have.sources.push(source);
        continue;
      }
      byName.set(d.counter, {
        counter: d.counter,
        unit: d.unit,
        perInterval: d.perInterval === true,
        sources: [source],
      });
    }
  };
  const extra = (counters: readonly string[]) =>
    counters.map((counter) => ({
      counter,
      unit: CATALOGUE_UNIT,
      perInterval: counter.endsWith('.summation'),
    }));
  const on = t.collectors;
  if (on.vm) {
    add(VM_PERF, 'vm');
    if (options.vm.instanceMetrics) add(VM_INSTANCE_PERF, 'vm.instance_metrics');
    add(extra(options.vm.extraCounters), 'vm.extra_counters');
  }
  if (on.host) {
    add([...HOST_PERF, ...HOST_INSTANCE_PERF], 'host');
    add(extra(options.host.extraCounters), 'host.extra_counters');
  }
  // Host counters (every instance), aggregated per datastore by name.
  if (on.datastore) add(DATASTORE_PERF, 'datastore (host realtime)');
  if (options.historical) {
    if (on.cluster) add(CLUSTER_HISTORICAL, 'cluster (historical.enabled)');
    if (on.datastore) add(DATASTORE_HISTORICAL, 'datastore (historical.enabled)');
    if (on.resource_pool) add(RESOURCE_POOL_HISTORICAL, 'resource_pool (historical.enabled)');
  }
  return [...byName.values()];
}

/** The wanted counters vCenter's catalogue lacks, or has in a unit the exporter would skip. */
export function counterProblems(
  wanted: readonly WantedCounter[],
  catalogue: ReadonlyMap<string, PerfCounter>,
): CounterProblem[] {
  const problems: CounterProblem[] = [];
  for (const w of wanted) {
    const c = catalogue.get(w.counter);
    let reason: string | undefined;
    if (!c) reason = "not in vCenter's counter catalogue";
    else if (w.unit === CATALOGUE_UNIT) reason = extraCounterProblem(c.unit, w.perInterval);
    else if (c.unit !== w.unit) {
      reason = `unit ${JSON.stringify(c.unit)} in the catalogue, the exporter converts from ${JSON.stringify(w.unit)}`;
    }
    if (reason !== undefined) problems.push({ counter: w.counter, sources: [...w.sources], reason });
  }
  return problems;
}

/** Why an extra counter in catalogue unit `unit` cannot be exported (the collectors skip it), or undefined when it can. */
export function extraCounterProblem(unit: string, perIntervalRate: boolean): string | undefined {
  if (extraCounterSuffix(unit, perIntervalRate) !== undefined) return undefined;
  if (baseUnit(unit) === undefined) return `unit ${JSON.stringify(unit)} cannot be converted to a base unit`;
  // A summed rate, percentage, frequency or temperature divided by the interval means nothing.
  return `a summation in unit ${JSON.stringify(unit)} has no per-second form the exporter could export`;
}
