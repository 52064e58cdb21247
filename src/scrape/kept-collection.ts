import { gunzipStream } from '../exposition/index.js';
import type { Collection } from './collection.js';

/**
 * The last collection that finished by itself, kept for scrapes whose own collection is late (on-scrape
 * mode's run-on), and how many scrapes it answered. It is kept as its gzip only (about a tenth of the
 * text at 50,000 VMs), so holding it while the next collection builds its own body does not double
 * the peak; a client that does not accept gzip gets it unzipped as it reads.
 */
export class KeptCollection {
  private kept: Collection | undefined;
  private answered = 0;

  /** Scrapes answered with the kept collection. */
  get staleAnswers(): number {
    return this.answered;
  }

  /** Keeps `c` (compressed) in place of the one before. */
  keep(c: Collection): void {
    const gz = c.gzip();
    // A failed gzip surfaces to the scrape that serves it; kept alone it must not be unhandled.
    gz.catch(() => undefined);
    this.kept = {
      up: c.up,
      durationSeconds: c.durationSeconds,
      finishedAt: c.finishedAt,
      body: [],
      gzip: () => gz,
      plain: async () => gunzipStream(await gz),
    };
  }

  /** The kept collection unless it finished more than `maxAgeSeconds` ago (not counted). */
  peek(maxAgeSeconds: number): Collection | undefined {
    const kept = this.kept;
    // Older than one collection may take: vCenter is likely stuck; say so rather than keep serving it.
    if (!kept || (Date.now() - kept.finishedAt) / 1000 > maxAgeSeconds) return undefined;
    return kept;
  }

  /** The kept collection for a late scrape (counted), unless it finished more than `maxAgeSeconds` ago. */
  answer(maxAgeSeconds: number): { collection: Collection; ageSeconds: number } | undefined {
    const kept = this.peek(maxAgeSeconds);
    if (!kept) return undefined;
    this.answered++;
    return { collection: kept, ageSeconds: (Date.now() - kept.finishedAt) / 1000 };
  }
}
