import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import {
  ALLOW_ALL,
  viewReads,
  type CollectContext,
  type Collector,
  type ObjectFilter,
} from '../collectors/collector.js';
import type { PromotedLabels } from '../collectors/info-labels.js';
import { filterInventory } from '../collectors/filter.js';
import { encodeFamilyChunks, gzipChunks, MetricFamily } from '../exposition/index.js';
import type { VimClient } from '../vsphere/client.js';
import type { Inventory } from '../vsphere/inventory.js';
import type { PerfManager } from '../vsphere/perf-manager.js';
import { errorReason } from '../vsphere/soap/errors.js';
import { describe } from '../vsphere/session.js';
import type { CollectionSummary } from './collection-summary.js';
import { sessionFamilies, type SoapStats } from './self-stats.js';

/** The encoded result of one collection, shared by every scrape that waited for it. */
export interface Collection {
  up: boolean;
  /** The exposition in ~64 KiB chunks, in order (never joined). */
  body: readonly Buffer[];
  /** Gzip of `body`, computed at most once. */
  gzip(): Promise<Buffer>;
  durationSeconds: number;
  /** When the collection finished (Date.now()). */
  finishedAt: number;
}

/** Everything a Scraper needs. */
export interface ScraperDeps {
  client: VimClient;
  /** Where each collection's inventory comes from (kept current incrementally). */
  inventory: { fetch(signal?: AbortSignal): Promise<Inventory> };
  perf: PerfManager;
  collectors: readonly Collector[];
  /** Which objects are collected (default: all). */
  filter?: ObjectFilter;
  soapStats: SoapStats;
  logger: Logger;
  version: string;
  /** Whether vCenter's TLS certificate is verified (false only with insecure_skip_verify). */
  tlsVerify?: boolean;
  /** Reads the `info_labels` values of a collection (from the tag collector), when promotion is configured. */
  infoLabels?: (ctx: CollectContext) => Promise<PromotedLabels>;
}

/**
 * Runs collections: one at a time (concurrent scrapes share the one in flight), bounded by a
 * deadline that aborts every outstanding vCenter call, and always answering — `vsphere_up 0` on failure.
 */
export class Scraper {
  private inflight: { promise: Promise<Collection>; waiters: number } | undefined;
  private current: AbortController | undefined;
  private lastErrorCode: string | undefined;
  private summary: CollectionSummary | undefined;

  constructor(private readonly deps: ScraperDeps) {}

  /** The last finished collection, for the status page (undefined until one has finished). */
  get last(): CollectionSummary | undefined {
    return this.summary;
  }

  /**
   * Returns the collection in flight, or starts one with `budgetSeconds`. When every caller's
   * `signal` has aborted (all scrapers hung up), the collection is aborted too: nobody waits for it.
   */
  collect(budgetSeconds: number, signal?: AbortSignal): Promise<Collection> {
    let entry = this.inflight;
    if (!entry) {
      const promise: Promise<Collection> = this.run(budgetSeconds).finally(() => {
        if (this.inflight?.promise === promise) this.inflight = undefined;
      });
      entry = this.inflight = { promise, waiters: 0 };
    }
    const mine = entry;
    mine.waiters++;
    if (signal) {
      const onAbort = (): void => {
        if (--mine.waiters === 0 && this.inflight === mine) {
          this.abort('every scraper waiting for this collection hung up');
          // A scrape arriving now must not get this aborted result: it starts a fresh collection.
          this.inflight = undefined;
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => signal.removeEventListener('abort', onAbort);
      mine.promise.then(cleanup, cleanup);
    }
    return mine.promise;
  }

  /** Aborts the collection in flight (its scrapes still get an answer, with vsphere_up 0). */
  abort(reason: string): void {
    this.current?.abort(new Error(reason));
  }

  /** Resolves once no collection is running (for graceful shutdown). */
  async idle(): Promise<void> {
    await this.inflight?.promise.catch(() => undefined);
  }

  private async run(budgetSeconds: number): Promise<Collection> {
    const { client, logger } = this.deps;
    const started = process.hrtime.bigint();
    const ac = new AbortController();
    // Every collector's in-flight requests listen on this one signal (8 collectors × perf
    // concurrency); Node's default of 10 listeners would warn about a leak that is not one.
    setMaxListeners(256, ac.signal);
    this.current = ac;
    const timer = setTimeout(
      () => ac.abort(new Error(`collection deadline of ${budgetSeconds.toFixed(1)} s reached`)),
      budgetSeconds * 1000,
    );
    const perCollector: MetricFamily[][] = this.deps.collectors.map(() => []);
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
    let up = false;
    let error: unknown;
    let outcomes: { ok: number; seconds: number }[] | undefined;
    // The collectors' own view reads need no inventory: started now, they run while vCenter
    // answers the inventory read (one round trip each, instead of after it).
    const views = viewReads(client.withoutRecovery(), ac.signal);
    for (const c of this.deps.collectors) if (c.viewSpecs) void views(c.viewSpecs);
    try {
      const filter = this.deps.filter ?? ALLOW_ALL;
      const wholeInventory = await this.deps.inventory.fetch(ac.signal);
      const inventory = filterInventory(wholeInventory, filter);
      up = true;
      const ctx: CollectContext = {
        client,
        perf: this.deps.perf,
        inventory,
        wholeInventory,
        filter,
        signal: ac.signal,
        logger,
        views,
      };
      // Started once, before the collectors; a failure leaves the labels empty (the tag collector
      // reports it through its own success metric).
      if (this.deps.infoLabels) ctx.infoLabels = this.deps.infoLabels(ctx).catch(() => undefined);
      const results = await Promise.all(
        this.deps.collectors.map(async (c, i) => {
          const t0 = process.hrtime.bigint();
          try {
            await c.collect(ctx, (f) => perCollector[i]!.push(f));
            return { ok: 1, seconds: seconds(t0) };
          } catch (e) {
            logger.warn({ collector: c.name, error: describe(e) }, 'collector failed');
            return { ok: 0, seconds: seconds(t0) };
          }
        }),
      );
      outcomes = results;
      // Added after all finished, in registry order, so the output order does not depend on timing.
      this.deps.collectors.forEach((c, i) => {
        success.add([c.name], results[i]!.ok);
        duration.add([c.name], results[i]!.seconds);
      });
    } catch (e) {
      error = e;
      for (const c of this.deps.collectors) success.add([c.name], 0);
      // Nobody will read the view reads started above: stop them (their views are still destroyed).
      ac.abort(e);
    } finally {
      clearTimeout(timer);
      if (this.current === ac) this.current = undefined;
    }
    this.logOutcome(error);
    const durationSeconds = seconds(started);
    const families = [
      ...perCollector.flat(),
      success,
      duration,
      ...this.healthFamilies(up, durationSeconds, error),
    ];
    const body = encodeFamilyChunks(families);
    const finishedAt = Date.now();
    this.summary = {
      up,
      durationSeconds,
      finishedAt,
      samples: families.reduce((n, f) => n + f.size, 0),
      error:
        error === undefined
          ? undefined
          : { code: errorReason(error), message: describe(error).message.slice(0, 200) },
      collectors: this.deps.collectors.map((c, i) => {
        const o = outcomes?.[i];
        return o ? { name: c.name, ok: o.ok === 1, seconds: o.seconds } : { name: c.name, ok: false };
      }),
    };
    let gz: Promise<Buffer> | undefined;
    return { up, body, durationSeconds, finishedAt, gzip: () => (gz ??= gzipChunks(body)) };
  }

  private healthFamilies(up: boolean, durationSeconds: number, error: unknown): MetricFamily[] {
    const { client, version, soapStats } = this.deps;
    const gauge = (name: string, help: string, value: number): MetricFamily => {
      const f = new MetricFamily(name, help, 'gauge', []);
      f.add([], value);
      return f;
    };
    const out = [
      gauge(
        'vsphere_up',
        '1 when vCenter answered this collection (login and inventory read succeeded).',
        up ? 1 : 0,
      ),
      gauge('vsphere_scrape_duration_seconds', 'Wall time of this collection.', durationSeconds),
      gauge(
        'vsphere_target_tls_verify',
        '1 when the connection to vCenter is TLS with certificate verification; 0 for http:// or insecure_skip_verify.',
        this.deps.tlsVerify === false ? 0 : 1,
      ),
    ];
    const lastError = new MetricFamily(
      'vsphere_last_error_info',
      'Why the last collection could not reach vCenter (present only when vsphere_up is 0).',
      'gauge',
      ['code', 'message'],
    );
    if (error !== undefined) lastError.add([errorReason(error), describe(error).message.slice(0, 200)], 1);
    const build = new MetricFamily(
      'vsphere_exporter_build_info',
      'Version of vsphere-exporter and of the Node.js runtime; value is always 1.',
      'gauge',
      ['version', 'nodejs_version'],
    );
    build.add([version, process.version], 1);
    const about = client.session.content?.about;
    const vc = new MetricFamily(
      'vsphere_vcenter_info',
      'Product and API version vCenter (or ESXi) reports; value is always 1.',
      'gauge',
      ['product', 'version', 'build', 'api_version', 'api_type', 'instance_uuid'],
    );
    if (about)
      vc.add(
        [about.fullName, about.version, about.build, about.apiVersion, about.apiType, about.instanceUuid],
        1,
      );
    return [
      ...out,
      lastError,
      build,
      vc,
      ...sessionFamilies(client.session.stats, client.session.isLoggedIn),
      ...soapStats.families(),
    ];
  }

  private logOutcome(error: unknown): void {
    const code = error === undefined ? undefined : errorReason(error);
    // One line per change of state, not one per failed scrape while vCenter is down.
    if (code !== this.lastErrorCode) {
      if (code)
        this.deps.logger.warn(
          { error: describe(error) },
          'collection failed: vCenter unreachable or refusing',
        );
      else if (this.lastErrorCode) this.deps.logger.info('vCenter reachable again');
    }
    this.lastErrorCode = code;
  }
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
