import type { VimClient } from './client.js';
import { retrieveOne } from './property-collector.js';
import { el, type MoRef } from './soap/envelope.js';
import { isVsphereError } from './soap/errors.js';
import { child, type XmlNode } from './soap/xml.js';
import { PerfAnswerFilter, querySpec, readEntityMetric } from './perf-response.js';
import { num, str } from './values.js';

/** One entry of vCenter's counter catalogue. */
export interface PerfCounter {
  key: number;
  /** `group.name.rollup`, e.g. `cpu.ready.summation`. */
  name: string;
  unit: string;
  statsType: string;
}

/** One entity and the counter ids to read for it: aggregate instance "" or, for `instanceCounterIds`, every instance ("*"). */
export interface PerfQuery {
  entity: MoRef;
  counterIds: readonly number[];
  /** Read with instance "*": vCenter answers the aggregate "" and each instance (vNIC, vCPU, …). */
  instanceCounterIds?: readonly number[];
}

/** One value of a QueryPerf answer. */
export interface PerfSample {
  entity: MoRef;
  counterId: number;
  instance: string;
  value: number;
  /** Length of the sample interval in seconds (20 for realtime). */
  intervalSeconds: number;
  /** Sample timestamp, Unix seconds. */
  timestamp: number | undefined;
}

// vCenter refuses a QueryPerf carrying more metrics than config.vpxd.stats.maxQueryMetrics
// (64 by default on old releases, 256 since 6.x); 256 is the documented default when unreadable.
const DEFAULT_MAX_QUERY_METRICS = 256;
/** Realtime statistics interval of hosts and VMs. */
export { REALTIME_INTERVAL } from './perf-response.js';

/** PerformanceManager: counter catalogue and chunked, bounded-concurrency realtime QueryPerf. */
export class PerfManager {
  // Promises, not values: collectors running in parallel share one read per session.
  private catalogue: { generation: number; byName: Promise<Map<string, PerfCounter>> } | undefined;
  private limit: { generation: number; value: Promise<number> } | undefined;
  private csv: { generation: number; supported: boolean } | undefined;

  constructor(
    private readonly client: VimClient,
    /** `concurrency` undefined: derived from the number of chunks, up to `connections` (the pool size). */
    private readonly override: { maxQueryMetrics?: number; concurrency?: number; connections?: number },
  ) {}

  /** The counter catalogue by `group.name.rollup`, read once per session. */
  async counters(signal?: AbortSignal): Promise<Map<string, PerfCounter>> {
    const content = await this.client.content(signal);
    const generation = this.client.session.generation;
    if (this.catalogue?.generation !== generation) {
      const byName = this.readCounters(content.perfManager, signal);
      this.catalogue = { generation, byName };
      // A failed read must not stick for the rest of the session.
      // A failed or empty read (a session that died mid-collection) must not stick for the session.
      const forget = (): void => {
        if (this.catalogue?.byName === byName) this.catalogue = undefined;
      };
      byName.then((m) => m.size === 0 && forget(), forget);
    }
    return this.catalogue.byName;
  }

  private async readCounters(
    perfManager: MoRef | undefined,
    signal?: AbortSignal,
  ): Promise<Map<string, PerfCounter>> {
    if (!perfManager) return new Map();
    const props = await retrieveOne(this.client, perfManager, ['perfCounter'], signal);
    const byName = new Map<string, PerfCounter>();
    for (const info of props.get('perfCounter')?.children ?? []) {
      const c = parseCounter(info);
      if (c) byName.set(c.name, c);
    }
    return byName;
  }

  /** vCenter's per-request metric limit (OptionManager), read once per session; 256 when unreadable. */
  async maxQueryMetrics(signal?: AbortSignal): Promise<number> {
    if (this.override.maxQueryMetrics) return this.override.maxQueryMetrics;
    const content = await this.client.content(signal);
    const generation = this.client.session.generation;
    if (this.limit?.generation !== generation) {
      const value = this.readLimit(content.setting, signal);
      this.limit = { generation, value };
      value.catch(() => {
        if (this.limit?.value === value) this.limit = undefined;
      });
    }
    return this.limit.value;
  }

  private async readLimit(setting: MoRef | undefined, signal?: AbortSignal): Promise<number> {
    let value = DEFAULT_MAX_QUERY_METRICS;
    if (setting) {
      try {
        const res = await this.client.invoke(
          'QueryOptions',
          setting,
          el('name', 'config.vpxd.stats.maxQueryMetrics'),
          signal,
        );
        const n = num(child(child(res, 'returnval') ?? res, 'value'));
        // -1 means "no limit"; keep requests bounded anyway.
        if (n !== undefined && n > 0) value = Math.floor(n);
      } catch (e) {
        // ESXi and vcsim have no such option (InvalidName): use the default.
        if (!isVsphereError(e, 'VSPHERE_FAULT') && !isVsphereError(e, 'VSPHERE_INVALID_ARGUMENT')) throw e;
      }
    }
    return value;
  }

  /** Realtime QueryPerf (maxSample 1) for all queries, chunked by the metric limit; calls `onSample` as chunks arrive. */
  async queryRealtime(
    queries: readonly PerfQuery[],
    signal: AbortSignal | undefined,
    onSample: (s: PerfSample) => void,
  ): Promise<void> {
    if (queries.length === 0) return;
    const content = await this.client.content(signal);
    const perf = content.perfManager;
    if (!perf) return;
    const chunks = chunkQueries(queries, await this.maxQueryMetrics(signal));
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      // After one chunk fails the collection is lost anyway: stop sending the rest.
      while (!failed && next < chunks.length) {
        const chunk = chunks[next++]!;
        try {
          await this.queryChunk(perf, chunk, signal, onSample);
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    };
    const n = Math.max(
      1,
      Math.min(
        this.override.concurrency ?? autoConcurrency(chunks.length, this.override.connections ?? 4),
        chunks.length,
      ),
    );
    await Promise.all(Array.from({ length: n }, worker));
  }

  /**
   * One QueryPerf. The csv format makes answers several times smaller; vcsim ignores it and some
   * servers refuse it, so whether it is honoured is learnt from the first answer of each session.
   */
  private async queryChunk(
    perf: MoRef,
    chunk: readonly PerfQuery[],
    signal: AbortSignal | undefined,
    onSample: (s: PerfSample) => void,
  ): Promise<void> {
    const generation = this.client.session.generation;
    const csv = this.csv?.generation === generation ? this.csv.supported : true;
    let sawCsv = false;
    let sawNormal = false;
    const filter = new PerfAnswerFilter(chunk);
    const accept = filter.pass(onSample);
    try {
      // Each entity's metrics are read as their element closes, not after the whole answer is in memory.
      await this.client.invoke('QueryPerf', perf, chunk.map((q) => querySpec(q, csv)).join(''), signal, {
        depth: 3,
        name: 'returnval',
        onElement: (rv) => {
          if (readEntityMetric(rv, accept) === 'csv') sawCsv = true;
          else sawNormal = true;
        },
      });
    } catch (e) {
      if (!csv || !isVsphereError(e, 'VSPHERE_INVALID_ARGUMENT')) throw e;
      this.csv = { generation, supported: false };
      return this.queryChunk(perf, chunk, signal, onSample);
    }
    filter.report(this.client.logger, 'QueryPerf');
    if (csv && (sawCsv || sawNormal)) this.csv = { generation, supported: sawCsv };
  }
}

/**
 * QueryPerf requests in flight per collector when `vsphere.perf_concurrency` is not set: 2 for a
 * small inventory, one more per 50 chunks (1,000 VMs × 17 counters at maxQueryMetrics 256 make ~70),
 * up to the connection pool's size — more would only queue for a socket.
 */
export function autoConcurrency(chunks: number, connections: number): number {
  return Math.max(1, Math.min(connections, Math.max(2, Math.ceil(chunks / 50))));
}

/** Packs queries into requests of at most `limit` metric ids each (splitting an entity's list if needed). */
export function chunkQueries(queries: readonly PerfQuery[], limit: number): PerfQuery[][] {
  const chunks: PerfQuery[][] = [];
  let cur: PerfQuery[] = [];
  let size = 0;
  for (const q of queries) {
    const all = q.instanceCounterIds ?? [];
    const total = q.counterIds.length + all.length;
    for (let i = 0; i < total;) {
      if (size === limit) {
        chunks.push(cur);
        cur = [];
        size = 0;
      }
      const take = Math.min(limit - size, total - i);
      const part: PerfQuery = { entity: q.entity, counterIds: q.counterIds.slice(i, i + take) };
      const n = q.counterIds.length;
      if (i + take > n) part.instanceCounterIds = all.slice(Math.max(0, i - n), i + take - n);
      cur.push(part);
      size += take;
      i += take;
    }
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}

function parseCounter(info: XmlNode): PerfCounter | undefined {
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
