import type { EncodedBody, MetricFamily } from '../exposition/index.js';
import { encodeCollection } from './collection.js';
import { FamilyStream } from './family-stream.js';

/**
 * A collection's answer, encoded as its collectors emit (FamilyStream), with all of their families
 * or none: a collection cut with no scrape left to read it stops encoding them, and then answers
 * with the trailing families alone, as if none had been encoded.
 */
export class StreamedAnswer {
  /** Where the collectors emit (part i: collector i). */
  readonly families: FamilyStream;
  private encoding: Promise<EncodedBody> | undefined;

  /**
   * `unread`: true while no scrape would read the collector families. `gzipOnly` is asked once, at
   * start(): whether every reader known by then takes gzip.
   */
  constructor(
    parts: number,
    private readonly unread: () => boolean,
    private readonly gzipOnly: () => boolean,
  ) {
    this.families = new FamilyStream(parts, () => !unread());
  }

  /** Starts encoding; a plain-text reader known only later gets the gzip unzipped. */
  start(): Promise<EncodedBody> {
    if (!this.encoding) {
      this.encoding = encodeCollection(this.families, this.gzipOnly());
      // Awaited by finish(); until then a failure must not count as unhandled.
      this.encoding.catch(() => undefined);
    }
    return this.encoding;
  }

  /** The encoded answer once `trailing` (the families after every collector's) is added, and its samples. */
  async finish(trailing: MetricFamily[]): Promise<{ encoded: EncodedBody; samples: number }> {
    if (this.unread()) this.families.drop();
    this.families.finish(trailing);
    const streamed = await this.start();
    if (!this.families.dropped) return { encoded: streamed, samples: this.families.samples };
    return {
      encoded: await encodeCollection(trailing, this.gzipOnly()),
      samples: trailing.reduce((n, f) => n + f.size, 0),
    };
  }
}
