import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { CollectContext, Collector } from '../collectors/collector.js';
import { MetricFamily } from '../exposition/index.js';
import { describe } from '../vsphere/session.js';
import type { CollectorOutcome } from './collection-summary.js';
import type { FamilyStream } from './family-stream.js';

/** One collector's run in a collection: 1 when it finished without error, and its wall time. */
export interface CollectorRun {
  ok: number;
  seconds: number;
}

/**
 * Runs every collector at once against `ctx`, timing each; each one's families go to `families` as
 * it emits them (part i: collector i), and its part ends when it does. A failure is logged and
 * reported in that collector's own success series, never thrown: one collector cannot take the
 * others down. Resolves with the runs in registry order.
 */
export async function runCollectors(
  collectors: readonly Collector[],
  ctx: CollectContext,
  logger: Logger,
  families: FamilyStream,
): Promise<CollectorRun[]> {
  const running: Promise<CollectorRun>[] = [];
  for (const [i, c] of collectors.entries()) {
    // One collector starts per turn of the event loop: the QueryPerf calls an earlier one started
    // are written out (a 256-VM body is ~330 KB, more than one socket write) before the next one
    // builds its families, instead of after all of them.
    if (i > 0) await nextTurn();
    running.push(runOne(c, ctx, (f) => families.emit(i, f), logger).finally(() => families.end(i)));
  }
  return Promise.all(running);
}

async function runOne(
  c: Collector,
  ctx: CollectContext,
  emit: (f: MetricFamily) => void,
  logger: Logger,
): Promise<CollectorRun> {
  const t0 = process.hrtime.bigint();
  try {
    await c.collect(ctx, emit);
    return { ok: 1, seconds: secondsSince(t0) };
  } catch (e) {
    logger.warn({ collector: c.name, error: describe(e) }, 'collector failed');
    return { ok: 0, seconds: secondsSince(t0) };
  }
}

/**
 * `vsphere_collector_success` and `vsphere_collector_duration_seconds` of `runs`; without them
 * (the collectors never ran) every collector's success is 0 and there are no durations.
 */
export function collectorFamilies(
  collectors: readonly Collector[],
  runs?: readonly CollectorRun[],
): { success: MetricFamily; duration: MetricFamily } {
  const success = new MetricFamily(
    'vsphere_collector_success',
    '1 when the collector finished without error in this collection.',
    'gauge',
    ['collector'],
  );
  const duration = new MetricFamily(
    'vsphere_collector_duration_seconds',
    'Time the collector took in this collection.',
    'gauge',
    ['collector'],
  );
  // Added after all finished, in registry order, so the output order does not depend on timing.
  collectors.forEach((c, i) => {
    const run = runs?.[i];
    success.add([c.name], run ? run.ok : 0);
    if (run) duration.add([c.name], run.seconds);
  });
  return { success, duration };
}

/** Each collector's outcome for the status page (no time for one that never ran). */
export function collectorOutcomes(
  collectors: readonly Collector[],
  runs?: readonly CollectorRun[],
): CollectorOutcome[] {
  return collectors.map((c, i) => {
    const o = runs?.[i];
    return o ? { name: c.name, ok: o.ok === 1, seconds: o.seconds } : { name: c.name, ok: false };
  });
}

/** Seconds since `since`, a `process.hrtime.bigint()` reading. */
export function secondsSince(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
