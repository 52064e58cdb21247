import type { MetricFamily } from './metric-family.js';
import { gzipChunks } from './gzip.js';
import { familyChunks, familyChunksOf } from './text-encoder.js';

/** An encoded exposition: its text chunks when it is small enough to hold, else its gzip only. */
export type EncodedBody = { text: Buffer[] } | { gzip: Buffer };

/**
 * Encodes `families`, keeping the text while it stays within `maxTextBytes`; past that it gzips the
 * text made so far and the rest as it is made, so a 50,000-VM exposition (~135 MiB of text) is never
 * held whole. With `gzipOnly` (every reader takes gzip) it is gzipped as it is made, the text never
 * kept: deflate then runs beside the encoding instead of after it. Otherwise plain-text scrapes cost
 * no gunzip. Families handed over as they are made (an AsyncIterable) are encoded as they come.
 */
export async function encodeBody(
  families: Iterable<MetricFamily> | AsyncIterable<MetricFamily>,
  maxTextBytes: number,
  gzipOnly = false,
): Promise<EncodedBody> {
  const chunksOf = (reuse: boolean): Generator<Buffer> | AsyncGenerator<Buffer> =>
    Symbol.asyncIterator in families ? familyChunksOf(families, reuse) : familyChunks(families, reuse);
  // gzip copies each chunk before it asks for the next: one buffer serves them all.
  if (gzipOnly) return { gzip: await gzipChunks(chunksOf(true)) };
  const made: Buffer[] = [];
  let size = 0;
  const chunks = chunksOf(false);
  const rest: AsyncIterator<Buffer> =
    Symbol.asyncIterator in chunks ? chunks : { next: () => Promise.resolve(chunks.next()) };
  for (let r = await rest.next(); !r.done; r = await rest.next()) {
    made.push(r.value);
    size += r.value.length;
    if (size > maxTextBytes) return { gzip: await gzipChunks(drain(made, rest)) };
  }
  return { text: made };
}

/** The chunks already made (released as they are read), then the rest. */
async function* drain(made: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (let c = made.shift(); c !== undefined; c = made.shift()) yield c;
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
}
