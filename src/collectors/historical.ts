import { renderLabels, type MetricFamily } from '../exposition/index.js';
import { historicalWindow } from '../vsphere/perf-manager.js';
import { toBaseUnit } from '../vsphere/units.js';
import type { CollectContext, FamilyDef } from './collector.js';
import { family, gauge } from './collector.js';
import { HISTORICAL_TIMING, type HistoricalCache, type HistoricalEntry } from './historical-cache.js';
import type { PerfTarget } from './perf-families.js';

/** A vCenter historical (5-minute) counter exported as one metric family. */
export interface HistoricalDef {
  /** `group.name.rollup` in vCenter's catalogue. */
  counter: string;
  /** vCenter unit the conversion assumes (a catalogue disagreeing is skipped, not guessed). */
  unit: string;
  /** Name after the `vsphere_<kind>_` prefix, ending in the base unit. */
  metric: string;
  help: string;
}

/** Option of the cluster, datastore and resource_pool collectors. */
export interface HistoricalOptions {
  /** Export the 5-minute historical counters (one QueryPerf per collector per 5 minutes). */
  historical?: boolean;
}

// The newest sample is usually 5–10 minutes old when vCenter has rolled it up; 30 minutes leaves room.
const LOOKBACK_SECONDS = 30 * 60;
const SAMPLE = (kind: string): string =>
  `5-minute historical sample (historical.enabled), not exported once over ${HISTORICAL_TIMING.maxAge / 60} minutes old; ` +
  `its time is in vsphere_${kind}_5m_sample_timestamp_seconds`;

/** Historical counters of clusters (vCenter has no realtime statistics for them). */
export const CLUSTER_HISTORICAL: readonly HistoricalDef[] = [
  {
    counter: 'cpu.usage.average',
    unit: 'percent',
    metric: 'cpu_usage_5m_ratio',
    help: `CPU usage as a ratio of the cluster's CPU capacity (cpu.usage.average, ${SAMPLE('cluster')}).`,
  },
  {
    counter: 'cpu.usagemhz.average',
    unit: 'megaHertz',
    metric: 'cpu_usage_5m_hertz',
    help: `CPU usage in hertz (cpu.usagemhz.average, ${SAMPLE('cluster')}).`,
  },
  {
    counter: 'mem.usage.average',
    unit: 'percent',
    metric: 'memory_usage_5m_ratio',
    help: `Memory usage as a ratio of the cluster's memory (mem.usage.average, ${SAMPLE('cluster')}).`,
  },
  {
    counter: 'mem.consumed.average',
    unit: 'kiloBytes',
    metric: 'memory_consumed_5m_bytes',
    help: `Memory consumed in bytes (mem.consumed.average, ${SAMPLE('cluster')}).`,
  },
];

/** Historical counters of datastores (reported for the Datastore entity, in kiloBytes). */
export const DATASTORE_HISTORICAL: readonly HistoricalDef[] = [
  {
    counter: 'disk.used.latest',
    unit: 'kiloBytes',
    metric: 'used_5m_bytes',
    help: `Space used on the datastore in bytes (disk.used.latest, ${SAMPLE('datastore')}).`,
  },
  {
    counter: 'disk.provisioned.latest',
    unit: 'kiloBytes',
    metric: 'provisioned_5m_bytes',
    help: `Space provisioned on the datastore in bytes (disk.provisioned.latest, ${SAMPLE('datastore')}).`,
  },
  {
    counter: 'disk.capacity.latest',
    unit: 'kiloBytes',
    metric: 'capacity_5m_bytes',
    help: `Capacity of the datastore in bytes (disk.capacity.latest, ${SAMPLE('datastore')}).`,
  },
];

/** Historical counters of resource pools. */
export const RESOURCE_POOL_HISTORICAL: readonly HistoricalDef[] = [
  {
    counter: 'cpu.usagemhz.average',
    unit: 'megaHertz',
    metric: 'cpu_usage_5m_hertz',
    help: `CPU usage in hertz (cpu.usagemhz.average, ${SAMPLE('resource_pool')}).`,
  },
  {
    counter: 'mem.consumed.average',
    unit: 'kiloBytes',
    metric: 'memory_consumed_5m_bytes',
    help: `Memory consumed in bytes (mem.consumed.average, ${SAMPLE('resource_pool')}).`,
  },
];

/** What one collector exports historically: family prefix, identity labels, counters. */
export interface HistoricalSpec {
  /** `vsphere_<kind>` */
  prefix: string;
  labelNames: readonly string[];
  defs: readonly HistoricalDef[];
}

/** The FamilyDefs of `spec` (value families and the sample timestamp family). */
export function historicalFamilyDefs(spec: HistoricalSpec): FamilyDef[] {
  return [
    ...spec.defs.map((d) => gauge(`${spec.prefix}_${d.metric}`, d.help, spec.labelNames)),
    gauge(
      `${spec.prefix}_5m_sample_timestamp_seconds`,
      `Unix time at the end of the 5-minute interval of the historical sample exported for each counter ` +
        `(PerfSampleInfo.timestamp of the newest sample of the counter in QueryPerf with intervalId 300).`,
      [...spec.labelNames, 'counter'],
    ),
  ];
}

/**
 * The historical families of `spec` for `targets` (already filtered): served from `cache`, which has
 * the PerfManager query all targets at once when a newer sample can exist. `now` is Unix seconds by
 * vCenter's clock, which its sample times are in (default: read from vCenter).
 */
export async function collectHistorical(
  ctx: Pick<CollectContext, 'perf' | 'signal'>,
  cache: HistoricalCache,
  spec: HistoricalSpec,
  targets: readonly PerfTarget[],
  now?: number,
): Promise<MetricFamily[]> {
  now ??= await ctx.perf.clock.now(ctx.signal);
  const defs = historicalFamilyDefs(spec);
  const families = defs.slice(0, -1).map(family);
  const timestamps = family(defs[defs.length - 1]!);
  const catalogue = await ctx.perf.counters(ctx.signal);
  const usable = spec.defs
    .map((def, i) => ({ def, family: families[i]!, counter: catalogue.get(def.counter) }))
    .filter((u) => u.counter !== undefined && u.counter.unit === u.def.unit);
  if (usable.length > 0 && targets.length > 0 && cache.claim(now)) {
    const names = new Map(usable.map((u) => [u.counter!.key, u.def.counter]));
    const counterIds = [...names.keys()];
    const entries: HistoricalEntry[] = [];
    await ctx.perf.queryHistorical(
      targets.map((t) => ({ entity: t.entity, counterIds })),
      historicalWindow(now, LOOKBACK_SECONDS),
      ctx.signal,
      (s) => {
        const counter = names.get(s.counterId);
        if (counter !== undefined && s.instance === '' && s.timestamp !== undefined)
          entries.push({ moid: s.entity.value, counter, value: s.value, timestamp: s.timestamp });
      },
    );
    cache.store(entries, now);
  }
  for (const t of targets) {
    const rendered = renderLabels(spec.labelNames, t.labels);
    for (const u of usable) {
      const v = cache.get(t.entity.value, u.def.counter, now);
      const base = v && toBaseUnit(v.value, u.def.unit);
      if (v === undefined || base === undefined) continue;
      u.family.addRendered(rendered, base);
      timestamps.add([...t.labels, u.def.counter], v.timestamp);
    }
  }
  return [...families, timestamps];
}
