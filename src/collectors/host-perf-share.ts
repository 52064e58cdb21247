import type { PerfSample } from '../vsphere/perf-manager.js';
import type { CollectContext, Collector } from './collector.js';

/**
 * Host realtime samples of counters other collectors need (Collector.hostCounters), shared within
 * one collection: the host collector adds them to its own QueryPerf (instance "*"), so they cost no
 * request of their own. With the host collector off, the first reader queries the hosts itself.
 */
export class HostPerfShare {
  private readonly got: PerfSample[] = [];
  private settled = false;
  private resolve: (s: readonly PerfSample[]) => void = () => undefined;
  private reject: (e: unknown) => void = () => undefined;
  private readonly fed: Promise<readonly PerfSample[]> | undefined;
  private own: Promise<readonly PerfSample[]> | undefined;

  /** `counters`: `group.name.rollup` names; `fedByHostCollector`: whether the host collector runs. */
  constructor(
    readonly counters: readonly string[],
    fedByHostCollector: boolean,
  ) {
    if (!fedByHostCollector) return;
    this.fed = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A reader that never comes must not turn a failed host query into an unhandled rejection.
    this.fed.catch(() => undefined);
  }

  /** Host collector: one sample of `counters` from its QueryPerf. */
  add(s: PerfSample): void {
    if (!this.settled) this.got.push(s);
  }

  /** Host collector: its QueryPerf is done, or failed with `error`; later calls change nothing. */
  finish(error?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (error === undefined) this.resolve(this.got);
    else this.reject(error);
  }

  /** The samples of `counters` for the connected, powered-on hosts of `ctx.inventory`. */
  samples(ctx: CollectContext): Promise<readonly PerfSample[]> {
    return this.fed ?? (this.own ??= queryHosts(ctx, this.counters));
  }
}

/** The share for `collectors` in one collection, or undefined when none reads host counters. */
export function hostPerfShareFor(collectors: readonly Collector[]): HostPerfShare | undefined {
  const counters = [...new Set(collectors.flatMap((c) => c.hostCounters ?? []))];
  if (counters.length === 0) return undefined;
  return new HostPerfShare(
    counters,
    collectors.some((c) => c.feedsHostPerf === true),
  );
}

async function queryHosts(ctx: CollectContext, counters: readonly string[]): Promise<PerfSample[]> {
  const catalogue = await ctx.perf.counters(ctx.signal);
  const ids = counters.flatMap((c) => catalogue.get(c)?.key ?? []);
  // A disconnected or powered-off host has no realtime statistics to give (as in the host collector).
  const hosts = ctx.inventory.hosts.filter(
    (h) => h.connectionState === 'connected' && h.powerState === 'poweredOn',
  );
  const got: PerfSample[] = [];
  if (ids.length === 0 || hosts.length === 0) return got;
  await ctx.perf.queryRealtime(
    hosts.map((h) => ({
      entity: { type: 'HostSystem', value: h.moid },
      counterIds: [],
      instanceCounterIds: ids,
    })),
    ctx.signal,
    (s) => got.push(s),
  );
  return got;
}
