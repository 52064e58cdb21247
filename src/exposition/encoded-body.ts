import type { MetricFamily } from './metric-family.js';
import { gzipChunkStream } from './gzip.js';
import { familyChunks } from './text-encoder.js';

/** An encoded exposition: its text chunks when it is small enough to hold, else its gzip only. */
export type EncodedBody = { text: Buffer[] } | { gzip: Buffer };

/**
 * Encodes `families`, keeping the text while it stays within `maxTextBytes`; past that it gzips the
 * text made so far and the rest as it is made, so a 50,000-VM exposition (~135 MiB of text) is never
 * held whole. Below the limit plain-text scrapes cost no gunzip.
 */
export async function encodeBody(
  families: Iterable<MetricFamily>,
  maxTextBytes: number,
): Promise<EncodedBody> {
  const text: Buffer[] = [];
  let size = 0;
  const chunks = familyChunks(families);
  for (let r = chunks.next(); !r.done; r = chunks.next()) {
    text.push(r.value);
    size += r.value.length;
    if (size > maxTextBytes) return { gzip: await gzipChunkStream(drain(text, chunks)) };
  }
  return { text };
}

/** The chunks already made (released as they are read), then the rest of the generator. */
function* drain(made: Buffer[], rest: Generator<Buffer>): Generator<Buffer> {
  for (let c = made.shift(); c !== undefined; c = made.shift()) yield c;
  yield* rest;
}
