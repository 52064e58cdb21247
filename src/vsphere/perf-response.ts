import type { Logger } from 'pino';
import { moRefEl, type BodyWriter } from './soap/envelope.js';
import { child, type XmlNode } from './soap/xml.js';
import type { PerfCounter, PerfQuery, PerfSample } from './perf-manager.js';
import { instanceAt, type PerfEntitySamples } from './perf-samples.js';
import { num, str } from './values.js';

/** Realtime statistics interval of hosts and VMs, in seconds. */
export const REALTIME_INTERVAL = 20;

/**
 * The QueryPerf body for `batch`, written into its request's bytes: one PerfQuerySpec per entity,
 * for the latest realtime sample of the aggregate instance (or, for `instanceCounterIds`, all
 * instances) of each counter. The metricId list is the same for every entity of a kind (17
 * counters × 10,000 VMs would be 170,000 small strings per scrape), so it is rendered once per id
 * array and reused. Each piece is written as it is made: a body held as strings until its request
 * is answered (~100 ms) would be promoted to V8's old generation, ~7 MB a scrape at 10,000 VMs for
 * full collections to free.
 */
export function queryPerfBody(batch: readonly PerfQuery[], csv: boolean): BodyWriter {
  // Element order follows the PerfQuerySpec xsd:sequence; vcsim only answers explicit metric ids.
  const tail = `<intervalId>${REALTIME_INTERVAL}</intervalId>${csv ? '<format>csv</format>' : ''}</querySpec>`;
  // Only the entity element carries text from vCenter; the metricId lists and the tail are ASCII
  // (ids and "*"): their length is their size, and they are copied byte for byte.
  const all = (q: PerfQuery): string => (q.instanceCounterIds ? metricIds(q.instanceCounterIds, '*') : '');
  return {
    writeInto(room) {
      const heads = batch.map((q) => `<querySpec>${moRefEl('entity', q.entity)}<maxSample>1</maxSample>`);
      let byteLength = 0;
      for (let k = 0; k < batch.length; k++) {
        const q = batch[k]!;
        byteLength +=
          Buffer.byteLength(heads[k]!) + metricIds(q.counterIds, '').length + all(q).length + tail.length;
      }
      const { bytes, at: start } = room(byteLength);
      let at = start;
      for (let k = 0; k < batch.length; k++) {
        const q = batch[k]!;
        at += bytes.write(heads[k]!, at);
        at += bytes.write(metricIds(q.counterIds, ''), at, 'latin1');
        at += bytes.write(all(q), at, 'latin1');
        at += bytes.write(tail, at, 'latin1');
      }
      return at;
    },
  };
}

// Rendered metricId lists by id array (callers pass one array to all entities of a kind); an
// array dropped by its caller drops its entry.
const rendered = {
  '': new WeakMap<readonly number[], string>(),
  '*': new WeakMap<readonly number[], string>(),
};

/** The `<metricId>` elements of `ids` for `instance` (`''` the aggregate, `'*'` every instance). */
export function metricIds(ids: readonly number[], instance: '' | '*'): string {
  const cache = rendered[instance];
  let block = cache.get(ids);
  if (block === undefined) {
    // The aggregate instance as an empty element, which any XML parser reads as the empty string:
    // 10 of each metricId's ~66 bytes, ~13 % of a request of aggregate counters, for vCenter to read.
    const inst = instance === '' ? '<instance/>' : `<instance>${instance}</instance>`;
    const parts: string[] = [];
    for (const id of ids) parts.push(`<metricId><counterId>${id}</counterId>${inst}</metricId>`);
    block = parts.join('');
    cache.set(ids, block);
  }
  return block;
}

// Skipped samples named in the log per answer (the count covers all of them).
const MAX_REPORTED_SKIPS = 5;

/**
 * What one QueryPerf answer may carry: entities asked for in that request, each listed once. A
 * request names each entity in one querySpec, so a correct answer has one element per entity; a
 * broken server listing an entity again (54 duplicate series seen) would put duplicate series in
 * the exposition: the first element is kept, a later one of the same entity is skipped and named
 * once in the log. Requests ask for disjoint (entity, counter) pairs, so no series can come twice
 * across answers either. A series listed twice within one element is skipped too (the first kept):
 * Prometheus fails a scrape with a duplicate series whole.
 */
export class PerfAnswerFilter {
  private readonly asked: Set<string>;
  private readonly listed = new Set<string>();
  // The series of the element being checked: counter ids for the aggregate, "id\0instance" else.
  private readonly series = new Set<number | string>();
  private count = 0;
  private readonly skipped: { entity: string; counterId: number; instance: string; why: string }[] = [];

  constructor(chunk: readonly PerfQuery[]) {
    this.asked = new Set(chunk.map((q) => q.entity.value));
  }

  /** `onEntity` for the entity elements this answer may carry. */
  pass(onEntity: (e: PerfEntitySamples) => void): (e: PerfEntitySamples) => void {
    return (e) => {
      const moid = e.entity.value;
      const why = this.check(moid);
      if (why === undefined) return onEntity(this.once(e));
      for (let i = e.start; i < e.end; i++) this.skip(moid, e.counterIds[i]!, instanceAt(e, i), why);
    };
  }

  /** `onSample` for the samples of one element at a time (all of one entity), as a tree reader gives them. */
  passElement(onSample: (s: PerfSample) => void): (samples: readonly PerfSample[]) => void {
    return (samples) => {
      if (samples.length === 0) return;
      const why = this.check(samples[0]!.entity.value);
      this.series.clear();
      for (const s of samples)
        if (why !== undefined) this.skip(s.entity.value, s.counterId, s.instance, why);
        else if (this.first(s.counterId, s.instance)) onSample(s);
        else this.skip(s.entity.value, s.counterId, s.instance, 'series listed twice');
    };
  }

  // `e` without the series it lists again; `e` itself when there is none (a correct answer).
  private once(e: PerfEntitySamples): PerfEntitySamples {
    this.series.clear();
    let kept: number[] | undefined;
    for (let i = e.start; i < e.end; i++) {
      if (this.first(e.counterIds[i]!, instanceAt(e, i))) kept?.push(i);
      else {
        kept ??= Array.from({ length: i - e.start }, (_, k) => e.start + k);
        this.skip(e.entity.value, e.counterIds[i]!, instanceAt(e, i), 'series listed twice');
      }
    }
    if (!kept) return e;
    const { instances } = e;
    return {
      ...e,
      start: 0,
      end: kept.length,
      counterIds: kept.map((i) => e.counterIds[i]!),
      instances: instances && kept.map((i) => instances[i]!),
      values: kept.map((i) => e.values[i]!),
    };
  }

  // Whether the element being checked lists this series for the first time.
  private first(counterId: number, instance: string): boolean {
    const key = instance === '' ? counterId : `${counterId}\0${instance}`;
    if (this.series.has(key)) return false;
    this.series.add(key);
    return true;
  }

  // Why the element of `moid` is skipped, or undefined when it is kept (and the entity now listed).
  private check(moid: string): string | undefined {
    if (!this.asked.has(moid)) return 'entity not asked for';
    if (this.listed.has(moid)) return 'listed twice';
    this.listed.add(moid);
    return undefined;
  }

  /** One warning naming what was skipped, if anything was. */
  report(logger: Pick<Logger, 'warn'>, method: string): void {
    if (this.count === 0) return;
    logger.warn(
      { method, count: this.count, skipped: this.skipped },
      'skipped samples of a QueryPerf answer',
    );
  }

  private skip(entity: string, counterId: number, instance: string, why: string): void {
    if (++this.count <= MAX_REPORTED_SKIPS)
      this.skipped.push({ entity: entity.slice(0, 64), counterId, instance: instance.slice(0, 64), why });
  }
}

/** One PerfCounterInfo of the catalogue, or undefined when it lacks a key or any part of its name. */
export function parseCounter(info: XmlNode): PerfCounter | undefined {
  const key = num(child(info, 'key'));
  const group = child(info, 'groupInfo');
  const nameInfo = child(info, 'nameInfo');
  const unitInfo = child(info, 'unitInfo');
  const g = str(group && child(group, 'key'));
  const n = str(nameInfo && child(nameInfo, 'key'));
  const rollup = str(child(info, 'rollupType'));
  if (key === undefined || !g || !n || !rollup) return undefined;
  return {
    key,
    name: `${g}.${n}.${rollup}`,
    unit: str(unitInfo && child(unitInfo, 'key')) ?? '',
    statsType: str(child(info, 'statsType')) ?? '',
  };
}
