import { HISTORICAL_INTERVAL } from '../vsphere/perf-manager.js';

/** One historical sample as vCenter timed it. */
export interface HistoricalValue {
  value: number;
  /** End of the sample's interval, Unix seconds (vCenter's sampleInfo timestamp). */
  timestamp: number;
}

/** One sample of a historical answer, keyed by entity moid and counter name. */
export interface HistoricalEntry extends HistoricalValue {
  moid: string;
  counter: string;
}

/** Timing of a HistoricalCache, in seconds. */
export interface HistoricalTiming {
  /** Length of vCenter's sample interval. */
  interval: number;
  /** Added to the newest sample's time + interval before the next sample is looked for (vCenter's rollup delay). */
  grace: number;
  /** Samples older than this are not exported. */
  maxAge: number;
  /** Wait after a query that failed (or is still running) before another is sent. */
  retry: number;
}

/**
 * Defaults. A sample is read up to one interval plus vCenter's rollup delay after it was taken and is then
 * served for one more interval, so 2 intervals would drop it exactly when vCenter is a little late: 3 it is.
 */
export const HISTORICAL_TIMING: HistoricalTiming = {
  interval: HISTORICAL_INTERVAL,
  grace: 60,
  maxAge: 3 * HISTORICAL_INTERVAL,
  retry: 60,
};

/**
 * The latest historical samples of one collector, reused until a newer sample can exist, so at most
 * one historical QueryPerf per collector is sent per interval however often it is scraped.
 */
export class HistoricalCache {
  private values = new Map<string, Map<string, HistoricalValue>>();
  private nextQueryAt = Number.NEGATIVE_INFINITY;

  constructor(readonly timing: HistoricalTiming = HISTORICAL_TIMING) {}

  /**
   * Whether a query is due at `now`; if so the caller must send it, and it is claimed: until it is
   * stored (or `retry` has passed after a failure) no other collection, even a parallel one, sends one.
   */
  claim(now: number): boolean {
    if (now < this.nextQueryAt) return false;
    this.nextQueryAt = now + this.timing.retry;
    return true;
  }

  /** Replaces the cache with the answer of the query claimed at `now` (entities absent from it are forgotten). */
  store(entries: Iterable<HistoricalEntry>, now: number): void {
    const values = new Map<string, Map<string, HistoricalValue>>();
    let newest = Number.NEGATIVE_INFINITY;
    for (const e of entries) {
      const byCounter = values.get(e.moid) ?? new Map<string, HistoricalValue>();
      const old = byCounter.get(e.counter);
      if (!old || e.timestamp > old.timestamp)
        byCounter.set(e.counter, { value: e.value, timestamp: e.timestamp });
      values.set(e.moid, byCounter);
      newest = Math.max(newest, e.timestamp);
    }
    this.values = values;
    const { interval, grace } = this.timing;
    // The next sample ends one interval after the newest and appears after vCenter's rollup; never sooner
    // than one interval from now, or a late vCenter would be asked again at every scrape.
    this.nextQueryAt = Math.max(now + interval, newest + interval + grace);
  }

  /** The cached sample of `counter` for `moid`, unless it is older than maxAge at `now`. */
  get(moid: string, counter: string, now: number): HistoricalValue | undefined {
    const v = this.values.get(moid)?.get(counter);
    return v && now - v.timestamp <= this.timing.maxAge ? v : undefined;
  }

  /** When the next query will be sent (Unix seconds); for logs and tests. */
  get nextQuery(): number {
    return this.nextQueryAt;
  }
}
