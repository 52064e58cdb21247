import type { Readable } from 'node:stream';
import {
  encodeBody,
  encodeFamilyChunks,
  gunzipStream,
  gzipChunks,
  type EncodedBody,
  type MetricFamily,
} from '../exposition/index.js';

/** The encoded result of one collection, shared by every scrape that waited for it. */
export interface Collection {
  up: boolean;
  /** The exposition in ~64 KiB chunks, in order (never joined); empty when `plain` is set. */
  body: readonly Buffer[];
  /** The exposition of a collection held compressed (a large one, or the kept one), unzipped as it is read. */
  plain?: () => Promise<Readable>;
  /** Gzip of `body`, computed at most once. */
  gzip(): Promise<Buffer>;
  durationSeconds: number;
  /** When the collection finished (Date.now()). */
  finishedAt: number;
}

// An exposition larger than this (~700,000 series) is held as gzip only: at 50,000 VMs its text is
// ~135 MiB, which with the next collection's families would not fit the shipped 512 MiB limit.
const MAX_TEXT_BYTES = 64 * 1024 * 1024;

/** A small answer (health families only): its text, gzipped when a client first asks. */
export function textCollection(up: boolean, families: MetricFamily[], durationSeconds: number): Collection {
  const body = encodeFamilyChunks(families);
  return { up, body, durationSeconds, finishedAt: Date.now(), gzip: lazyGzip(body) };
}

/**
 * Encodes a full collection's families, as they come when they are a stream: its text up to 64 MiB,
 * past that (or with `gzipOnly`) its gzip only.
 */
export function encodeCollection(
  families: MetricFamily[] | AsyncIterable<MetricFamily>,
  gzipOnly = false,
): Promise<EncodedBody> {
  return encodeBody(families, MAX_TEXT_BYTES, gzipOnly);
}

/** A full collection's answer, from its encoded families. */
export function encodedCollection(up: boolean, encoded: EncodedBody, durationSeconds: number): Collection {
  const finishedAt = Date.now();
  if ('text' in encoded)
    return { up, body: encoded.text, durationSeconds, finishedAt, gzip: lazyGzip(encoded.text) };
  const gz = encoded.gzip;
  return {
    up,
    body: [],
    plain: () => Promise.resolve(gunzipStream(gz)),
    durationSeconds,
    finishedAt,
    gzip: () => Promise.resolve(gz),
  };
}

function lazyGzip(body: readonly Buffer[]): () => Promise<Buffer> {
  let gz: Promise<Buffer> | undefined;
  return () => (gz ??= gzipChunks(body));
}
