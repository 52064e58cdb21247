import type { Logger } from 'pino';
import type { Budget } from './deadline.js';
import type { Collection, Reads, Scraper } from './scraper.js';

// Realtime statistics close every 20 s; collecting a little after the boundary reads the newest
// sample rather than racing vCenter for it.
const ALIGN_OFFSET_MS = 2000;

/**
 * Background mode: collects every `intervalSeconds` on a schedule aligned to the interval, and
 * serves the last complete collection, so a scrape costs only the copy of ready buffers.
 */
export class BackgroundCollector {
  private last: Collection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly scraper: Scraper,
    private readonly intervalSeconds: number,
    private readonly budget: Budget,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the first collection now and schedules the next ones. */
  start(): void {
    this.run();
  }

  /** The last complete collection; before the first one finishes, the one in flight (within the scrape's own budget). */
  async get(budget: Budget, signal?: AbortSignal, reads?: Reads): Promise<Collection> {
    return this.last ?? this.scraper.collect(budget.seconds, signal, budget.source, reads);
  }

  /** Stops scheduling; a collection in flight is left to the scraper's abort. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    if (this.stopped) return;
    this.scraper.collectFully(this.budget.seconds, this.budget.source).then(
      (c) => {
        this.last = c;
        this.schedule();
      },
      (e: unknown) => {
        this.logger.error(
          { error: e instanceof Error ? e.message : String(e) },
          'background collection failed',
        );
        this.schedule();
      },
    );
  }

  private schedule(): void {
    if (this.stopped) return;
    const period = this.intervalSeconds * 1000;
    const now = this.now();
    // Next boundary (plus offset) strictly in the future; a collection longer than the interval skips ahead.
    let next = Math.floor(now / period) * period + ALIGN_OFFSET_MS;
    while (next <= now) next += period;
    this.timer = setTimeout(() => this.run(), next - now);
    this.timer.unref();
  }
}
