import { ALLOW_ALL, type CollectContext } from '../collectors/collector.js';
import { filterInventory } from '../collectors/filter.js';
import { hostPerfShareFor } from '../collectors/host-perf-share.js';
import { encodedCollection, textCollection, type Collection } from './collection.js';
import { errorReason, VsphereError } from '../vsphere/errors.js';
import type { CollectionSummary } from './collection-summary.js';
import { errorText } from './error-text.js';
import { healthFamilies } from './health-families.js';
import type { Budget } from './deadline.js';
import { SharedCollection, type Departure } from './shared-collection.js';
import { KeptCollection } from './kept-collection.js';
import { OutcomeLog } from './outcome-log.js';
import {
  collectorFamilies,
  collectorOutcomes,
  runCollectors,
  secondsSince,
  type CollectorRun,
} from './collector-runs.js';
import { StreamedAnswer } from './streamed-answer.js';
import type { Reads, ScraperDeps } from './scraper-deps.js';

export type { Collection } from './collection.js';
export type { Reads, ScraperDeps } from './scraper-deps.js';

/**
 * Runs collections: one at a time (concurrent scrapes share the one in flight), each scrape
 * answered within its own deadline, and always answering — `vsphere_up 0` on failure.
 */
export class Scraper {
  private inflight: SharedCollection<Collection> | undefined;
  private readonly running = new Set<SharedCollection<Collection>>();
  /** Whether a scrape that takes only plain text joined the collection in flight (else it is encoded as gzip only). */
  private inflightReaders = { plain: false };
  private readonly outcomes: OutcomeLog;
  private summary: CollectionSummary | undefined;
  /** With runOn: the last collection that finished by itself, compressed, for scrapes whose own is late. */
  private readonly kept = new KeptCollection();
  /** Set by abort() (shutdown): the answer of every later scrape. */
  private closing: VsphereError | undefined;

  constructor(private readonly deps: ScraperDeps) {
    this.outcomes = new OutcomeLog(deps.logger);
  }

  /** The last finished collection, for the status page (undefined until one has finished). */
  get last(): CollectionSummary | undefined {
    return this.summary;
  }

  /** Scrapes answered with the last complete collection because their own was not done by their deadline. */
  get staleAnswers(): number {
    return this.kept.staleAnswers;
  }

  /**
   * The collection in flight (or a new one), waited for at most `budgetSeconds`: when it is not
   * done by then, this scrape answers the last complete collection (with runOn, when there is one
   * young enough) or `vsphere_up 0` with a deadline reason, and the collection goes on for longer
   * scrapes (with runOn: to its own end, for the next scrape). It is aborted at the latest deadline
   * of its scrapes or its run-on end (at most `timeoutSeconds` after it started) or when every
   * scrape's `signal` has aborted before any deadline passed. `source` says where the budget came
   * from (named in the message when this deadline ends the collection).
   */
  async collect(
    budgetSeconds: number,
    signal?: AbortSignal,
    source?: string,
    reads: Reads = { gzip: false },
  ): Promise<Collection> {
    const started = process.hrtime.bigint();
    // A scraper gone before it joined is no waiter at all: it neither starts nor holds a collection.
    if (signal?.aborted) return this.departed({ kind: 'hangup' }, started, budgetSeconds);
    if (this.closing) return this.departed({ kind: 'closed' }, started, budgetSeconds);
    const shared = this.shared();
    this.inflightReaders.plain ||= !reads.gzip;
    const got = await shared.join(budgetSeconds, signal, source, this.waitSeconds(shared, budgetSeconds));
    if (!('kind' in got)) return got;
    return (
      (got.kind === 'deadline' && this.lastComplete()) || this.departed(got, started, budgetSeconds, source)
    );
  }

  /**
   * Background mode: the collection in flight (or a new one with `budgetSeconds`) awaited to its
   * end, even when a longer scrape extended it past `budgetSeconds`.
   */
  async collectFully(budgetSeconds: number, source?: string): Promise<Collection> {
    const shared = this.shared();
    // Served later to scrapes not known yet: text, and gzip made from it when one asks.
    this.inflightReaders.plain = true;
    const got = await shared.join(budgetSeconds, undefined, source);
    return 'kind' in got ? shared.result : got;
  }

  /** Aborts the collection in flight (its scrapes still get an answer, with vsphere_up 0) and starts none after it. */
  abort(reason: string): void {
    this.closing = new VsphereError('VSPHERE_CLOSED', `no collection: ${reason}`);
    for (const c of this.running) c.abort(reason);
  }

  /** Resolves once no collection is running (for graceful shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.running].map((c) => c.result.catch(() => undefined)));
  }

  /**
   * How long a scrape waits for its collection. With a kept collection to answer, at most half its
   * budget, and not at all when the running collection is not expected to finish by then (the kept
   * one took longer): at 50,000 VMs the answer is ~100 MiB of text that Prometheus must still read
   * and parse within the same timeout, so it must not be sent at the last moment.
   */
  private waitSeconds(shared: SharedCollection<Collection>, budgetSeconds: number): number {
    const { runOn } = this.deps;
    const kept = runOn && runOn.seconds > budgetSeconds ? this.kept.peek(runOn.seconds) : undefined;
    if (!kept) return budgetSeconds;
    const expectedLeft = kept.durationSeconds - shared.elapsedSeconds;
    return expectedLeft > budgetSeconds / 2 ? 0 : budgetSeconds / 2;
  }

  /** The kept collection for a scrape whose own is late, if it finished within the run-on time. */
  private lastComplete(): Collection | undefined {
    const got = this.deps.runOn && this.kept.answer(this.deps.runOn.seconds);
    if (!got) return undefined;
    this.deps.logger.debug(
      { ageSeconds: got.ageSeconds },
      'scrape answered with the last complete collection',
    );
    return got.collection;
  }

  private shared(): SharedCollection<Collection> {
    if (this.inflight) return this.inflight;
    const readers = { plain: false };
    const shared: SharedCollection<Collection> = new SharedCollection(
      (ac, deadline, wanted) => this.run(ac, deadline, wanted, readers),
      this.deps.timeoutSeconds,
      () => {
        if (this.inflight === shared) this.inflight = undefined;
      },
      this.deps.timeoutSource,
      this.deps.runOn,
    );
    this.inflight = shared;
    this.inflightReaders = readers;
    this.running.add(shared);
    const forget = (): void => {
      this.running.delete(shared);
      if (this.inflight === shared) this.inflight = undefined;
    };
    shared.result.then(forget, forget);
    return shared;
  }

  /** The answer of a scrape that left before the shared collection finished: health families only. */
  private departed(
    why: Departure | { kind: 'closed' },
    started: bigint,
    budgetSeconds: number,
    source?: string,
  ): Collection {
    // A full inventory read outlives the scrape: say how far it got, not just that time ran out.
    const loading = this.deps.inventory.loading?.();
    const error =
      (why.kind === 'closed' && this.closing) ||
      loading ||
      (why.kind === 'deadline'
        ? new VsphereError(
            'VSPHERE_TIMEOUT',
            `scrape deadline of ${why.budgetSeconds.toFixed(1)} s reached before the shared collection finished` +
              (source ? ` (${source})` : ''),
          )
        : new VsphereError('VSPHERE_ABORTED', 'the scraper hung up before the collection finished'));
    if (why.kind === 'deadline')
      this.deps.logger.debug({ budgetSeconds: why.budgetSeconds }, 'scrape answered at its own deadline');
    const { success } = collectorFamilies(this.deps.collectors);
    const durationSeconds = secondsSince(started);
    return textCollection(
      false,
      [success, ...healthFamilies(this.deps, false, durationSeconds, budgetSeconds, error)],
      durationSeconds,
    );
  }

  /** One collection: the inventory snapshot, the collectors over it, and the answer built from them. */
  private async run(
    ac: AbortController,
    deadline: () => Budget,
    wanted: () => boolean,
    readers: { plain: boolean },
  ): Promise<Collection> {
    const { collectors, logger } = this.deps;
    const started = process.hrtime.bigint();
    let up = false;
    let error: unknown;
    let runs: CollectorRun[] | undefined;
    // Unread (cut, no waiter left): not encoded; at 50,000 VMs that is seconds of CPU.
    const answer = new StreamedAnswer(
      collectors.length,
      () => ac.signal.aborted && !wanted(),
      () => !readers.plain,
    );
    try {
      const filter = this.deps.filter ?? ALLOW_ALL;
      const wholeInventory = await this.deps.inventory.fetch(ac.signal);
      // After the first await: the scrape that started the collection has said how it reads.
      void answer.start();
      const inventory = filterInventory(wholeInventory, filter);
      up = true;
      const ctx: CollectContext = {
        perf: this.deps.perf,
        ...(this.deps.licenseAssignments ? { licenseAssignments: this.deps.licenseAssignments } : {}),
        inventory,
        wholeInventory,
        filter,
        signal: ac.signal,
        logger,
        ...(this.deps.events ? { events: this.deps.events } : {}),
        ...(this.deps.tags ? { tags: this.deps.tags.collection(ac.signal) } : {}),
      };
      // Started once, before the collectors; a failure leaves the labels empty (the tag collector
      // reports it through its own success metric).
      if (this.deps.infoLabels) ctx.infoLabels = this.deps.infoLabels(ctx).catch(() => undefined);
      const hostPerf = hostPerfShareFor(collectors);
      if (hostPerf) ctx.hostPerf = hostPerf;
      runs = await runCollectors(collectors, ctx, logger, answer.families);
    } catch (e) {
      error = e;
    }
    const { success, duration } = collectorFamilies(collectors, runs);
    this.outcomes.note(error);
    const durationSeconds = secondsSince(started);
    const had = deadline();
    const trailing = [
      success,
      duration,
      ...healthFamilies(this.deps, up, durationSeconds, had.seconds, error),
    ];
    const { encoded, samples } = await answer.finish(trailing);
    const collection = encodedCollection(up, encoded, durationSeconds);
    this.summary = {
      up,
      durationSeconds,
      deadline: had,
      finishedAt: collection.finishedAt,
      samples,
      error: error === undefined ? undefined : { code: errorReason(error), message: errorText(error) },
      collectors: collectorOutcomes(collectors, runs),
    };
    // Finished by itself (not cut by a deadline or shutdown): what a later late scrape may answer.
    if (this.deps.runOn && !ac.signal.aborted) this.kept.keep(collection);
    return collection;
  }
}
