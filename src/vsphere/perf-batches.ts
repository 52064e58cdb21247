import type { Logger } from 'pino';
import type { PerfQuery } from './perf-manager.js';
import { errorReason, isVsphereError } from './errors.js';
import { afterNotFound, entityKey } from './perf-missing.js';

/** Upper bounds of one QueryPerf request: entities, and metric ids over all of them. */
export interface BatchSize {
  objects: number;
  metrics: number;
}

/**
 * Realtime requests carry 256 entities with all their counters by default (Telegraf's
 * max_query_objects): vCenter's maxQueryMetrics protects its statistics database, which realtime
 * queries (answered from the hosts' memory) do not touch.
 */
export const DEFAULT_BATCH_OBJECTS = 256;
/** Metric ids of one realtime request at most, whatever the objects (Telegraf's absolute bound). */
export const REALTIME_MAX_METRICS = 50_000;
/** Entities a run may drop on ManagedObjectNotFound faults that name no object. */
export const MAX_UNNAMED_DROPS = 8;

const idsOf = (q: PerfQuery): number => q.counterIds.length + (q.instanceCounterIds?.length ?? 0);

/** The size `batch` has. */
export function sizeOf(batch: readonly PerfQuery[]): BatchSize {
  let metrics = 0;
  for (const q of batch) metrics += idsOf(q);
  return { objects: batch.length, metrics };
}

/** True when `batch` is within `limit`. */
export function fits(batch: readonly PerfQuery[], limit: BatchSize): boolean {
  const s = sizeOf(batch);
  return s.objects <= limit.objects && s.metrics <= limit.metrics;
}

/**
 * Packs queries into requests of at most `limit.objects` entities and `limit.metrics` metric ids,
 * in order; an entity whose ids alone exceed `limit.metrics` is split over several requests.
 */
export function packQueries(queries: readonly PerfQuery[], limit: BatchSize): PerfQuery[][] {
  const maxIds = Math.max(1, limit.metrics);
  const maxObjects = Math.max(1, limit.objects);
  const batches: PerfQuery[][] = [];
  let cur: PerfQuery[] = [];
  let size = 0;
  const flush = (): void => {
    if (cur.length) batches.push(cur);
    cur = [];
    size = 0;
  };
  for (const q of queries) {
    const all = q.instanceCounterIds ?? [];
    const n = q.counterIds.length;
    const total = n + all.length;
    for (let i = 0; i < total;) {
      if (size === maxIds || cur.length === maxObjects) flush();
      const take = Math.min(maxIds - size, total - i);
      if (take === total) {
        // Whole: its id arrays stay the caller's, whose rendered metricId lists are cached by identity.
        cur.push(q);
      } else {
        const part: PerfQuery = { entity: q.entity, counterIds: q.counterIds.slice(i, i + take) };
        if (i + take > n) part.instanceCounterIds = all.slice(Math.max(0, i - n), i + take - n);
        cur.push(part);
      }
      size += take;
      i += take;
    }
  }
  flush();
  return batches;
}

/** Packs queries into requests of at most `limit` metric ids each (splitting an entity's list if needed). */
export function chunkQueries(queries: readonly PerfQuery[], limit: number): PerfQuery[][] {
  return packQueries(queries, { objects: Number.POSITIVE_INFINITY, metrics: limit });
}

/**
 * The size to use after vCenter refused a batch of size `refused` sent within `size`: half of
 * `size` (so sizes stay 256, 128, 64, … whatever the batch's own size), or half of the refused
 * batch when that is already smaller — in objects, or for a lone entity in metric ids. Undefined
 * when the batch was a single metric id: nothing smaller exists.
 */
export function shrink(size: BatchSize, refused: BatchSize): BatchSize | undefined {
  const half = (limit: number, got: number): number => {
    const h = Math.ceil(Math.min(limit, got) / 2);
    const fromLimit = Math.ceil(limit / 2);
    return fromLimit < got ? fromLimit : h;
  };
  if (refused.objects > 1) return { objects: half(size.objects, refused.objects), metrics: size.metrics };
  if (refused.metrics > 1) return { objects: 1, metrics: half(size.metrics, refused.metrics) };
  return undefined;
}

// vim.fault.RestrictedByAdministrator says "This operation is restricted by the administrator -
// 'vpxd.stats.maxQueryMetrics'"; some releases send it without a typed detail.
const LIMIT_TEXT = /maxQueryMetrics|restricted by the administrator/i;

/**
 * True for the answers a smaller request can avoid: vCenter's metric limit, InvalidArgument, an
 * HTTP 500 without a fault, and an answer over our byte or element bounds.
 */
export function isBatchRefusal(e: unknown): boolean {
  if (!isVsphereError(e)) return false;
  switch (e.code) {
    case 'VSPHERE_RESTRICTED_BY_ADMINISTRATOR':
    case 'VSPHERE_INVALID_ARGUMENT':
    case 'VSPHERE_RESPONSE_TOO_LARGE':
      return true;
    case 'VSPHERE_HTTP_STATUS':
      return e.statusCode === 500;
    case 'VSPHERE_FAULT':
      return LIMIT_TEXT.test(e.message);
    default:
      return false;
  }
}

/** Options of runBatches. */
export interface RunBatchesOptions {
  /** Size to start from (the session's learnt size). */
  size: BatchSize;
  /** Requests this run keeps in flight at most. */
  workers: number;
  /**
   * Runs one request's turn holding what bounds the calls in flight (default: nothing); the batch is
   * taken inside it, at the size of that moment, so no batch waits packed to a size since refused.
   */
  hold?: <T>(turn: (release: () => void) => Promise<T>) => Promise<T>;
  /**
   * Sends one request; its samples must reach the caller only once the whole answer was read.
   * `release` gives the turn's hold back early (the answer is in, its parse goes on).
   */
  send(batch: PerfQuery[], release: () => void): Promise<void>;
  /** Told of each refusal that was absorbed by splitting, and of the size used from then on. */
  onRefusal?(e: unknown, refused: BatchSize, next: BatchSize): void;
  /** Told of a size lowered by a refusal once a batch within it was answered: the size that works. */
  onLearnt?(size: BatchSize): void;
  /** Told of an entity left out because vCenter no longer knows it (deleted since the inventory saw it). */
  onMissing?(entity: PerfQuery['entity']): void;
}

/**
 * Sends `queries` packed to `size`. A refused request is packed again to half the size and sent in
 * the same run, and every request not yet sent is packed to the smaller size too. A request faulted
 * with ManagedObjectNotFound is sent again without the entity the fault names (or in halves, down to
 * the one it cannot name; MAX_UNNAMED_DROPS at most), and that entity is left out of the rest of
 * the run and told to onMissing once. A refusal of a single metric id, or any other error, ends the
 * run (the requests not yet sent are dropped).
 */
export async function runBatches(queries: readonly PerfQuery[], opts: RunBatchesOptions): Promise<void> {
  let size = { ...opts.size };
  const queue = packQueries(queries, size);
  // Halves of refused batches go first: the rest of the queue is re-packed when taken.
  const retry: PerfQuery[][] = [];
  let next = 0;
  let failed = false;
  let lowered = false;
  // Entities vCenter no longer knows ("type:moid"), left out of every batch still to send.
  const gone = new Set<string>();
  let unnamedDrops = 0;
  const take = (): PerfQuery[] | undefined => {
    for (;;) {
      let batch = retry.pop() ?? queue[next++];
      if (!batch) return undefined;
      if (gone.size > 0) batch = batch.filter((q) => !gone.has(entityKey(q.entity)));
      if (batch.length === 0) continue;
      if (fits(batch, size)) return batch;
      const parts = packQueries(batch, size);
      for (let i = parts.length - 1; i > 0; i--) retry.push(parts[i]!);
      return parts[0];
    }
  };
  const hold = opts.hold ?? (<T>(turn: (release: () => void) => Promise<T>) => turn(() => undefined));
  // One request, or false when there is none left to send.
  const turn = async (release: () => void): Promise<boolean> => {
    const batch = failed ? undefined : take();
    if (!batch) return false;
    try {
      await opts.send(batch, release);
      if (lowered && fits(batch, size)) {
        lowered = false;
        opts.onLearnt?.(size);
      }
    } catch (e) {
      // One deleted VM must not cost the other 255 their samples; the size is not at fault. A fault
      // that names nothing and is not about one entity (a proxy that strips the detail, a fault of
      // the PerformanceManager) would drop them all: past a few such drops it fails the run.
      const notFound = !failed && isVsphereError(e, 'VSPHERE_MANAGED_OBJECT_NOT_FOUND') ? e : undefined;
      // Sent before another request found one of its entities gone (an entity split over requests
      // in flight together): sent again, take() leaving it out, and not counted as a drop of its own.
      if (notFound && gone.size > 0 && batch.some((q) => gone.has(entityKey(q.entity)))) {
        retry.push(batch);
        return true;
      }
      const plan = notFound && afterNotFound(batch, notFound.missing);
      const guessed = plan?.drop !== undefined && notFound?.missing === undefined;
      if (plan && !(guessed && ++unnamedDrops > MAX_UNNAMED_DROPS)) {
        if (plan.drop && !gone.has(entityKey(plan.drop))) {
          gone.add(entityKey(plan.drop));
          opts.onMissing?.(plan.drop);
        }
        for (let i = plan.resend.length - 1; i >= 0; i--) retry.push(plan.resend[i]!);
        return true;
      }
      const refused = sizeOf(batch);
      // A batch packed before an earlier refusal lowered the size is only packed again.
      const within = refused.objects <= size.objects && refused.metrics <= size.metrics;
      const next = within ? shrink(size, refused) : size;
      if (failed || !isBatchRefusal(e) || !next) {
        failed = true;
        throw e;
      }
      if (within) {
        size = next;
        lowered = true;
      }
      opts.onRefusal?.(e, refused, size);
      const parts = packQueries(batch, size);
      for (let i = parts.length - 1; i >= 0; i--) retry.push(parts[i]!);
    }
    return true;
  };
  // Workers follow the work: a lone batch that vCenter makes us split (a refusal, an entity it no
  // longer knows) sends its halves side by side, up to `workers`, not one after the other.
  const limit = Math.max(1, opts.workers);
  let running = 0;
  let settle!: { resolve(): void; reject(e: unknown): void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const grow = (): void => {
    while (!failed && running < limit && running < retry.length + Math.max(0, queue.length - next)) {
      running++;
      void (async () => {
        while (await hold(turn)) grow();
      })().then(
        () => {
          if (--running === 0) settle.resolve();
        },
        (e: unknown) => {
          running--;
          settle.reject(e);
        },
      );
    }
  };
  grow();
  if (running === 0) return;
  await done;
}

/** The warnings and notes of a run of `kind` batches, for RunBatchesOptions. */
export function batchLogs(
  logger: Pick<Logger, 'warn' | 'info'>,
  kind: string,
): Pick<RunBatchesOptions, 'onRefusal' | 'onMissing'> {
  return {
    onRefusal: (e, refused, next) =>
      logger.warn(
        { method: 'QueryPerf', kind, code: errorReason(e), refused, next, error: errorText(e) },
        'vCenter refused a QueryPerf batch; sending it in smaller ones',
      ),
    onMissing: (entity) =>
      logger.info(
        { method: 'QueryPerf', kind, entity: entityKey(entity) },
        'vCenter no longer knows an entity (deleted meanwhile); its samples are left out of this collection',
      ),
  };
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 300);
}
