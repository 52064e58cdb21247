import type { VimClient } from './client.js';
import { retrieveOne } from './property-collector.js';
import { el, type MoRef } from './soap/envelope.js';
import { isVsphereError } from './errors.js';
import {
  batchLogs,
  DEFAULT_BATCH_OBJECTS,
  REALTIME_MAX_METRICS,
  runBatches,
  sizeOf,
  type BatchSize,
} from './perf-batches.js';
import { Slots } from './perf-slots.js';
import { ServerClock } from './server-clock.js';
import { child } from './soap/xml.js';
import { queryHistoricalBatch, type HistoricalWindow } from './perf-historical.js';
import { parseCounter, PerfAnswerFilter, queryPerfBody } from './perf-response.js';
import { PerfEntityReader } from './perf-entity-reader.js';
import { forEachSample, type PerfEntitySamples } from './perf-samples.js';
import { num } from './values.js';
import type { PerfCounter, PerfQuery, PerfSample } from './perf-types.js';

export type { PerfCounter, PerfQuery, PerfSample } from './perf-types.js';

// vCenter refuses a historical QueryPerf carrying more metrics than config.vpxd.stats.maxQueryMetrics
// (64 by default on old releases, 256 since 6.x); 256 is the documented default when unreadable.
const DEFAULT_MAX_QUERY_METRICS = 256;
/** Realtime statistics interval of hosts and VMs. */
export { REALTIME_INTERVAL } from './perf-response.js';
/** One entity's samples of a QueryPerf answer, as parallel arrays. */
export { instanceAt, sampleAt, type PerfEntitySamples } from './perf-samples.js';
/** The 5-minute interval and query window of historical statistics (clusters, datastores, pools). */
export { HISTORICAL_INTERVAL, historicalWindow, type HistoricalWindow } from './perf-historical.js';

/** Realtime requests go by object count, historical ones by vCenter's metric limit. */
export type PerfKind = 'realtime' | 'historical';

/** PerformanceManager: counter catalogue and batched, adaptive, per-target bounded QueryPerf. */
export class PerfManager {
  // Promises, not values: collectors running in parallel share one read per session.
  private catalogue: { generation: number; byName: Promise<Map<string, PerfCounter>> } | undefined;
  private limit: { generation: number; value: Promise<number> } | undefined;
  private csv: { generation: number; supported: boolean } | undefined;
  // The size vCenter accepted after refusing a larger one, per kind, for the rest of the session.
  private readonly learnt = new Map<PerfKind, { generation: number; size: BatchSize }>();
  // QueryPerf in flight for the whole target, whichever collector sends it.
  private readonly slots: Slots;
  /** vCenter's clock, which historical samples and their query window are in. */
  readonly clock: ServerClock;

  constructor(
    private readonly client: VimClient,
    private readonly override: {
      maxQueryMetrics?: number;
      /** Entities per realtime request (default 256). */
      batchObjects?: number;
      /** QueryPerf in flight per target; undefined: `connections`. */
      concurrency?: number;
      /** The connection pool's size (default 4). */
      connections?: number;
    },
  ) {
    this.slots = new Slots(Math.max(1, override.concurrency ?? override.connections ?? 4));
    this.clock = new ServerClock(client);
  }

  /** The counter catalogue by `group.name.rollup`, read once per session. */
  async counters(signal?: AbortSignal): Promise<Map<string, PerfCounter>> {
    const content = await this.client.content(signal);
    const generation = this.client.session.generation;
    if (this.catalogue?.generation !== generation) {
      const byName = this.readCounters(content.perfManager, signal);
      this.catalogue = { generation, byName };
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

  /** Realtime QueryPerf (maxSample 1) for all queries in batches of objects; calls `onSample` as batches are answered. */
  queryRealtime(
    queries: readonly PerfQuery[],
    signal: AbortSignal | undefined,
    onSample: (s: PerfSample) => void,
  ): Promise<void> {
    return this.queryRealtimeEntities(queries, signal, (e) => forEachSample(e, onSample));
  }

  /** queryRealtime, its samples handed over one entity element at a time as parallel arrays (no object per sample). */
  async queryRealtimeEntities(
    queries: readonly PerfQuery[],
    signal: AbortSignal | undefined,
    onEntity: (e: PerfEntitySamples) => void,
  ): Promise<void> {
    if (queries.length === 0) return;
    const perf = (await this.client.content(signal)).perfManager;
    if (!perf) return;
    // Twice the slots: a batch whose answer has arrived gives its slot to the next while it is parsed.
    await this.runBatches('realtime', queries, signal, 2 * this.slots.limit, (batch, release) =>
      this.queryBatch(perf, batch, signal, onEntity, release),
    );
  }

  /**
   * Historical QueryPerf (5-minute interval, the newest sample of each series) for all queries, in
   * batches of vCenter's maxQueryMetrics. Batches go one after the other: historical reads hit
   * vCenter's statistics database, and there are few clusters, datastores and pools.
   */
  async queryHistorical(
    queries: readonly PerfQuery[],
    window: HistoricalWindow,
    signal: AbortSignal | undefined,
    onSample: (s: PerfSample) => void,
  ): Promise<void> {
    if (queries.length === 0) return;
    const perf = (await this.client.content(signal)).perfManager;
    if (!perf) return;
    await this.runBatches('historical', queries, signal, 1, (batch) =>
      queryHistoricalBatch(this.client, perf, batch, window, signal, onSample),
    );
  }

  /**
   * Sends `queries` in batches of the session's size for `kind` (realtime: `batchObjects` entities;
   * historical: maxQueryMetrics ids), `workers` at once, each call holding one of the target's
   * slots until it is answered or `send` gives it back with `release`. A
   * refused batch is split and retried in this call; the size that was then answered is kept for
   * the session. `send` must hand samples over only once its whole answer was read.
   */
  private async runBatches(
    kind: PerfKind,
    queries: readonly PerfQuery[],
    signal: AbortSignal | undefined,
    workers: number,
    send: (batch: PerfQuery[], release: () => void) => Promise<void>,
  ): Promise<void> {
    const generation = this.client.session.generation;
    const kept = this.learnt.get(kind);
    const size =
      kept?.generation === generation
        ? kept.size
        : kind === 'realtime'
          ? { objects: this.override.batchObjects ?? DEFAULT_BATCH_OBJECTS, metrics: REALTIME_MAX_METRICS }
          : { objects: Number.POSITIVE_INFINITY, metrics: await this.maxQueryMetrics(signal) };
    await runBatches(queries, {
      size,
      workers,
      hold: (turn) => this.slots.run(turn, signal),
      send,
      ...batchLogs(this.client.logger, kind),
      onLearnt: (worked) => this.keep(kind, generation, worked),
    });
  }

  // The smallest size that worked in this session is kept: collectors learning at once agree on it.
  private keep(kind: PerfKind, generation: number, worked: BatchSize): void {
    if (this.client.session.generation !== generation) return;
    const now = this.learnt.get(kind);
    const was = now?.generation === generation ? now.size : undefined;
    if (was && was.objects <= worked.objects && was.metrics <= worked.metrics) return;
    const size = {
      objects: Math.min(was?.objects ?? Infinity, worked.objects),
      metrics: Math.min(was?.metrics ?? Infinity, worked.metrics),
    };
    this.learnt.set(kind, { generation, size });
    this.client.logger.info(
      { method: 'QueryPerf', kind, objects: size.objects, metrics: size.metrics },
      'QueryPerf batch size for this session lowered to what vCenter answered',
    );
  }

  /**
   * One realtime QueryPerf. The csv format makes answers several times smaller; vcsim ignores it and
   * some servers refuse it (InvalidArgument), so whether it is honoured is learnt per session. The
   * samples are handed over once the whole answer is read: a batch refused half-way is sent again
   * in halves, and must not have delivered any series twice.
   */
  private async queryBatch(
    perf: MoRef,
    batch: readonly PerfQuery[],
    signal: AbortSignal | undefined,
    onEntity: (e: PerfEntitySamples) => void,
    release: () => void,
    csv = this.csvFor(this.client.session.generation),
  ): Promise<void> {
    const generation = this.client.session.generation;
    let sawCsv = false;
    let sawNormal = false;
    // The slot goes back early once the answer is in and has shown an element of its own: a
    // fault (500, or in a 200 answer) never does, so the retry after it is still within the bound.
    let received = false;
    const early = (): void => {
      if (received && (sawCsv || sawNormal)) release();
    };
    const got: PerfEntitySamples[] = [];
    const filter = new PerfAnswerFilter(batch);
    const accept = filter.pass((e) => got.push(e));
    try {
      // Each entity's metrics are read as the parser reads them, no tree built, and handed over as its element closes.
      await this.client.invoke('QueryPerf', perf, queryPerfBody(batch, csv), signal, {
        depth: 3,
        name: 'returnval',
        onReceived: () => {
          received = true;
          early();
        },
        reader: new PerfEntityReader(
          accept,
          (isCsv) => {
            if (isCsv) sawCsv = true;
            else sawNormal = true;
            early();
          },
          // Its answer's samples, unless "*" instances add more.
          sizeOf(batch).metrics,
        ),
      });
    } catch (e) {
      if (!csv || !isVsphereError(e, 'VSPHERE_INVALID_ARGUMENT')) throw e;
      // Refused csv or a batch too large: the same batch without csv tells which.
      await this.queryBatch(perf, batch, signal, onEntity, release, false);
      this.csv = { generation, supported: false };
      return;
    }
    filter.report(this.client.logger, 'QueryPerf');
    if (csv && (sawCsv || sawNormal)) this.csv = { generation, supported: sawCsv };
    for (const e of got) onEntity(e);
  }

  private csvFor(generation: number): boolean {
    return this.csv?.generation === generation ? this.csv.supported : true;
  }
}
