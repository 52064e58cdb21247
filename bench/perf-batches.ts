/**
 * The QueryPerf requests a scrape needs at the fewest calls, made from the ones the exporter sent:
 * their query specs are merged per entity (the exporter may split one entity's counters over
 * several requests) and packed again — realtime specs (intervalId 20, hosts and VMs) by object
 * count, `objectsPerCall` entities with all their counters per call, as Telegraf's vsphere input
 * does; historical specs by metric count, at most `maxQueryMetrics` metric ids per call, which
 * vCenter enforces for them (config.vpxd.stats.maxQueryMetrics). Text only: the specs are cut out
 * of the captured bodies and pasted into new ones, never parsed as XML.
 */

/** How the floor packs QueryPerf specs. */
export interface PerfBatching {
  /** Realtime entities per call, each with all its counters (default 256, Telegraf's). */
  objectsPerCall: number;
  /** Historical metric ids per call (vCenter's default maxQueryMetrics is 256). */
  maxQueryMetrics: number;
}

/** The re-packed QueryPerf bodies and what went into them. */
export interface PerfBatches {
  bodies: Buffer[];
  /** Distinct realtime (entity, query) specs, i.e. objects. */
  realtimeObjects: number;
  /** Distinct historical (entity, query) specs. */
  historicalObjects: number;
  /** Metric ids over all specs, after removing duplicates. */
  metricIds: number;
}

const SPEC_RE = /<querySpec>([\s\S]*?)<\/querySpec>/g;
const METRIC_RE = /<metricId>[\s\S]*?<\/metricId>/g;
const INTERVAL_RE = /<intervalId>\s*(\d+)\s*<\/intervalId>/;
const REALTIME_INTERVAL = 20;

/** One entity's query: everything but the metric ids, and its metric ids in first-seen order. */
interface Spec {
  head: string;
  tail: string;
  metrics: string[];
  seen: Set<string>;
  realtime: boolean;
}

function specXml(s: { head: string; tail: string }, metrics: readonly string[]): string {
  return `<querySpec>${s.head}${metrics.join('')}${s.tail}</querySpec>`;
}

/** Packs the specs of `bodies` (QueryPerf request bodies of one scrape) into the fewest QueryPerf bodies. */
export function rebatchQueryPerf(bodies: readonly Buffer[], opts: PerfBatching): PerfBatches {
  if (!(opts.objectsPerCall >= 1) || !(opts.maxQueryMetrics >= 1))
    throw new Error('objectsPerCall and maxQueryMetrics must be at least 1');
  let prefix: string | undefined;
  let suffix = '';
  const specs = new Map<string, Spec>();
  for (const buf of bodies) {
    const text = buf.toString('utf8');
    const first = text.indexOf('<querySpec>');
    const last = text.lastIndexOf('</querySpec>');
    if (first < 0 || last < 0) continue;
    // Envelope, method element and _this: the same in every QueryPerf of a session.
    if (prefix === undefined) {
      prefix = text.slice(0, first);
      suffix = text.slice(last + '</querySpec>'.length);
    }
    for (const m of text.slice(first, last + '</querySpec>'.length).matchAll(SPEC_RE)) {
      const inner = m[1]!;
      const ids = [...inner.matchAll(METRIC_RE)];
      const head = ids.length ? inner.slice(0, ids[0]!.index) : inner;
      const lastId = ids[ids.length - 1];
      const tail = lastId ? inner.slice(lastId.index + lastId[0].length) : '';
      const key = `${head}\0${tail}`;
      let spec = specs.get(key);
      if (!spec) {
        const interval = Number(INTERVAL_RE.exec(tail)?.[1] ?? REALTIME_INTERVAL);
        spec = { head, tail, metrics: [], seen: new Set(), realtime: interval === REALTIME_INTERVAL };
        specs.set(key, spec);
      }
      for (const [id] of ids) {
        if (spec.seen.has(id)) continue;
        spec.seen.add(id);
        spec.metrics.push(id);
      }
    }
  }
  const all = [...specs.values()];
  const realtime = all.filter((s) => s.realtime);
  const historical = all.filter((s) => !s.realtime);
  const calls: string[][] = [];
  for (let i = 0; i < realtime.length; i += opts.objectsPerCall)
    calls.push(realtime.slice(i, i + opts.objectsPerCall).map((s) => specXml(s, s.metrics)));
  // Historical: fill each call up to maxQueryMetrics ids, splitting an entity's list where needed.
  let cur: string[] = [];
  let room = opts.maxQueryMetrics;
  for (const s of historical) {
    // A spec without metric ids (every available metric) still takes one slot.
    const n = Math.max(1, s.metrics.length);
    for (let i = 0; i < n;) {
      if (room === 0) {
        calls.push(cur);
        cur = [];
        room = opts.maxQueryMetrics;
      }
      const take = Math.min(room, n - i);
      cur.push(specXml(s, s.metrics.slice(i, i + take)));
      room -= take;
      i += take;
    }
  }
  if (cur.length) calls.push(cur);
  return {
    bodies: calls.map((c) => Buffer.from(`${prefix ?? ''}${c.join('')}${suffix}`, 'utf8')),
    realtimeObjects: realtime.length,
    historicalObjects: historical.length,
    metricIds: all.reduce((n, s) => n + s.metrics.length, 0),
  };
}
