import type { MetricFamily } from '../exposition/index.js';
import type { Inventory } from '../vsphere/inventory.js';
import type { PerfCounter, PerfSample } from '../vsphere/perf-manager.js';
import { child, type XmlNode } from '../vsphere/answer-data.js';
import { toBaseUnit } from '../vsphere/units.js';
import { family, gauge, type FamilyDef } from './collector.js';

const ID = ['datastore', 'datastore_moid'] as const;
const RT = '20 s realtime samples of every host that reports the datastore';

/** How the hosts' values of one counter make the datastore's value. */
export type Aggregate = 'sum' | 'max';

/** A host counter of group `datastore` (per-datastore instances) exported per datastore. */
export interface DatastorePerfDef {
  counter: string;
  /** vCenter unit the conversion assumes (a catalogue disagreeing is skipped, not guessed). */
  unit: string;
  aggregate: Aggregate;
  family: FamilyDef;
}

const def = (counter: string, unit: string, aggregate: Aggregate, name: string, help: string) => ({
  counter,
  unit,
  aggregate,
  family: gauge(`vsphere_datastore_${name}`, `${help} (${counter}, ${RT}, ${aggregate} over hosts).`, ID),
});

// Rates add up over the hosts sharing a datastore; an average latency does not (each host's is its
// own queue), so the worst host's is what the datastore shows.
/** The per-datastore realtime families and the host counters they come from. */
export const DATASTORE_PERF: readonly DatastorePerfDef[] = [
  def(
    'datastore.totalReadLatency.average',
    'millisecond',
    'max',
    'read_latency_seconds',
    'Average read latency to the datastore in seconds, the highest of its hosts',
  ),
  def(
    'datastore.totalWriteLatency.average',
    'millisecond',
    'max',
    'write_latency_seconds',
    'Average write latency to the datastore in seconds, the highest of its hosts',
  ),
  def(
    'datastore.numberReadAveraged.average',
    'number',
    'sum',
    'read_operations_per_second',
    'Read commands per second issued to the datastore, summed over its hosts',
  ),
  def(
    'datastore.numberWriteAveraged.average',
    'number',
    'sum',
    'write_operations_per_second',
    'Write commands per second issued to the datastore, summed over its hosts',
  ),
  def(
    'datastore.read.average',
    'kiloBytesPerSecond',
    'sum',
    'read_bytes_per_second',
    'Read rate from the datastore in bytes per second, summed over its hosts',
  ),
  def(
    'datastore.write.average',
    'kiloBytesPerSecond',
    'sum',
    'write_bytes_per_second',
    'Write rate to the datastore in bytes per second, summed over its hosts',
  ),
];

/** Host counters the datastore collector needs in the hosts' QueryPerf (instance "*"). */
export const DATASTORE_HOST_COUNTERS: readonly string[] = DATASTORE_PERF.map((d) => d.counter);

const HOSTS = gauge(
  'vsphere_datastore_realtime_hosts',
  'Hosts whose realtime datastore samples were aggregated into the datastore series in this collection.',
  ID,
);
const UNMAPPED = gauge(
  'vsphere_datastore_realtime_unmapped_instances',
  'Host datastore-counter instances (host × instance) in this collection that map to no datastore of the model; their samples are left out.',
  [],
);
/** Every family of the per-datastore realtime series (for the metric reference). */
export const DATASTORE_PERF_FAMILIES: readonly FamilyDef[] = [
  ...DATASTORE_PERF.map((d) => d.family),
  HOSTS,
  UNMAPPED,
];

/**
 * The volume id a datastore URL ends in: vCenter names a host's datastore-counter instance by it
 * (`ds:///vmfs/volumes/<uuid>/` → `<uuid>`, also for NFS `…/<id>/`, vSAN `…/vsan:<id>/`).
 */
export function volumeId(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const parts = url.split('/').filter((p) => p !== '');
  const last = parts[parts.length - 1];
  // "ds:" alone (a URL with no path) names nothing.
  return last === undefined || last.endsWith(':') ? undefined : last;
}

/** Maps a host's datastore-counter instance to the datastore it measures (pure, from the model). */
export class InstanceMap {
  // Keys come from vCenter: Maps only. A volume id two datastores share maps to neither (null).
  private readonly byVolume = new Map<string, string | null>();
  // "hostMoid\0volume" from each datastore's host mounts (mountInfo.path), preferred when known.
  private readonly byMount = new Map<string, string | null>();

  /** `datastores`: moid, summary.url and the `host` property (DatastoreHostMount[]) as read. */
  constructor(datastores: readonly { moid: string; url?: string; mounts?: XmlNode }[]) {
    for (const ds of datastores) {
      const id = volumeId(ds.url);
      if (id !== undefined) put(this.byVolume, id, ds.moid);
      for (const m of ds.mounts?.children ?? []) {
        const host = child(m, 'key')?.text;
        const info = child(m, 'mountInfo');
        const path = volumeId(info && child(info, 'path')?.text);
        if (host && path !== undefined) put(this.byMount, `${host}\0${path}`, ds.moid);
      }
    }
  }

  /** The moid of the datastore host `hostMoid`'s instance `instance` measures, or undefined. */
  lookup(hostMoid: string, instance: string): string | undefined {
    return this.byMount.get(`${hostMoid}\0${instance}`) ?? this.byVolume.get(instance) ?? undefined;
  }
}

function put(map: Map<string, string | null>, key: string, moid: string): void {
  const had = map.get(key);
  map.set(key, had === undefined || had === moid ? moid : null);
}

/** The instance map of an inventory's datastores (summary.url and host mounts, read by the datastore collector). */
export function instanceMapOf(inv: Inventory): InstanceMap {
  return new InstanceMap(
    inv.objects('Datastore').map(({ obj, props }) => ({
      moid: obj.value,
      url: props.get('summary.url')?.text,
      mounts: props.get('host'),
    })),
  );
}

/** A datastore that gets series: its label values. */
export interface DatastoreTarget {
  moid: string;
  name: string;
}

/**
 * The per-datastore families from host samples: each counter's values of the hosts reporting a
 * datastore, summed or maxed as its def says. Samples of other counters, the aggregate instance ""
 * and an echoed "*" are ignored; instances mapping to no datastore are counted (per host × instance).
 * Datastores not in `targets` (filtered out) get no series and are not counted as unmapped.
 */
export function datastorePerfFamilies(
  samples: readonly PerfSample[],
  catalogue: ReadonlyMap<string, PerfCounter>,
  map: InstanceMap,
  targets: readonly DatastoreTarget[],
): MetricFamily[] {
  const byKey = new Map<number, DatastorePerfDef>();
  for (const d of DATASTORE_PERF) {
    const c = catalogue.get(d.counter);
    if (c && c.unit === d.unit) byKey.set(c.key, d);
  }
  const wanted = new Map(targets.map((t) => [t.moid, t]));
  // def → datastore → "host\0instance" → value: a duplicate series of one host counts once.
  const values = new Map<DatastorePerfDef, Map<string, Map<string, number>>>();
  const hosts = new Map<string, Set<string>>();
  const unmapped = new Set<string>();
  for (const s of samples) {
    const d = byKey.get(s.counterId);
    if (!d || s.instance === '' || s.instance === '*') continue;
    const host = s.entity.value;
    const moid = map.lookup(host, s.instance);
    if (moid === undefined) {
      unmapped.add(`${host}\0${s.instance}`);
      continue;
    }
    if (!wanted.has(moid)) continue;
    const v = toBaseUnit(s.value, d.unit);
    if (v === undefined || !Number.isFinite(v) || v < 0) continue;
    const perDs = values.get(d) ?? new Map<string, Map<string, number>>();
    values.set(d, perDs);
    const perHost = perDs.get(moid) ?? new Map<string, number>();
    perDs.set(moid, perHost);
    perHost.set(`${host}\0${s.instance}`, v);
    const hs = hosts.get(moid) ?? new Set<string>();
    hosts.set(moid, hs);
    hs.add(host);
  }
  const out: MetricFamily[] = [];
  for (const d of DATASTORE_PERF) {
    const f = family(d.family);
    for (const [moid, perHost] of values.get(d) ?? []) {
      const t = wanted.get(moid)!;
      const all = [...perHost.values()];
      f.add([t.name, t.moid], d.aggregate === 'sum' ? all.reduce((a, b) => a + b, 0) : Math.max(...all));
    }
    out.push(f);
  }
  const hostFamily = family(HOSTS);
  for (const [moid, hs] of hosts) hostFamily.add([wanted.get(moid)!.name, moid], hs.size);
  const unmappedFamily = family(UNMAPPED);
  unmappedFamily.add([], unmapped.size);
  return [...out, hostFamily, unmappedFamily];
}
