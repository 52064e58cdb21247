import type { MetricFamily } from './metric-family.js';
import { gzipChunks } from './gzip.js';
import { familyChunks, familyTexts } from './text-encoder.js';

/** An encoded exposition: its text chunks when it is small enough to hold, else its gzip only. */
export type EncodedBody = { text: Buffer[] } | { gzip: Buffer };

/**
 * Encodes `families`, keeping the text while it stays within `maxTextBytes`; past that it gzips the
 * text made so far and the rest as it is made, so a 50,000-VM exposition (~135 MiB of text) is never
 * held whole. With `gzipOnly` (every reader takes gzip) it is gzipped as it is made, the text never
 * kept: deflate then runs beside the encoding instead of after it. Otherwise plain-text scrapes cost
 * no gunzip.
 */
export async function encodeBody(
  families: Iterable<MetricFamily>,
  maxTextBytes: number,
  gzipOnly = false,
): Promise<EncodedBody> {
  if (gzipOnly) return { gzip: await gzipChunks(familyTexts(families)) };
  const chunks = familyChunks(families);
  const text: Buffer[] = [];
  let size = 0;
  for (let r = chunks.next(); !r.done; r = chunks.next()) {
    text.push(r.value);
    size += r.value.length;
    if (size > maxTextBytes) return { gzip: await gzipChunks(drain(text, chunks)) };
  }
  return { text };
}

/** The chunks already made (released as they are read), then the rest of the generator. */
function* drain(made: Buffer[], rest: Generator<Buffer>): Generator<Buffer> {
  for (let c = made.shift(); c !== undefined; c = made.shift()) yield c;
  yield* rest;
}
