import type { IncomingMessage, ServerResponse } from 'node:http';
import { acceptsGzip, CONTENT_TYPE, gzipBody } from '../exposition/index.js';
import { collectionBudget, type Budget, type DeadlineConfig } from '../scrape/deadline.js';
import type { Collection, Reads } from '../scrape/scraper.js';
import { answered } from './answer-writer.js';
import { send, sendStream } from './http-server.js';

/** Source of the exporter's own process/runtime metrics (prom-client's default metrics). */
export type SelfMetrics = () => Promise<string>;

/** Where a scrape's collection comes from: a fresh (shared) one, or the background mode's last. */
export interface CollectionSource {
  get(budget: Budget, hangup: AbortSignal, reads: Reads): Promise<Collection>;
  /** Report `vsphere_collection_age_seconds` (background mode; on-scrape mode where an answer may be a kept collection). */
  reportsAge: boolean;
  /** On-scrape mode: scrapes answered with the last complete collection (`vsphere_scrape_stale_answers_total`). */
  staleAnswers?: () => number;
}

/** Scrapes of one route in flight; kept across reloads, so a new handler counts the old one's answers too. */
export interface InFlight {
  count: number;
}

/**
 * GET /metrics: one (shared) collection plus the process metrics, gzipped when the scraper accepts it.
 * Beyond `maxRequests` concurrent scrapes it answers 503 at once instead of queueing without bound; a
 * scrape counts until its answer is flushed or its client is cut, so clients that do not read hold slots.
 */
export function metricsHandler(
  source: CollectionSource,
  deadline: DeadlineConfig,
  selfMetrics: SelfMetrics,
  maxRequests: number,
  inFlight: InFlight = { count: 0 },
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (inFlight.count >= maxRequests) {
      send(
        res,
        503,
        'text/plain; charset=utf-8',
        `503 too many concurrent scrapes (limit ${maxRequests})\n`,
        { 'Retry-After': '1' },
      );
      return;
    }
    inFlight.count++;
    void answered(res).then(() => inFlight.count--);
    const hangup = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) hangup.abort();
    };
    res.on('close', onClose);
    // A client gone before this handler ran (e.g. during basic auth's bcrypt) emitted no 'close' here.
    if (res.destroyed) hangup.abort();
    try {
      await respond(
        req,
        res,
        source,
        collectionBudget(req.headers['x-prometheus-scrape-timeout-seconds'], deadline),
        selfMetrics,
        hangup.signal,
      );
    } finally {
      res.off('close', onClose);
    }
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  source: CollectionSource,
  budget: Budget,
  selfMetrics: SelfMetrics,
  hangup: AbortSignal,
): Promise<void> {
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const [collection, self] = await Promise.all([source.get(budget, hangup, { gzip }), selfMetrics()]);
  // The scraper gave up (its own timeout): nothing to write to.
  if (res.destroyed) return;
  const age = source.reportsAge ? ageFamily((Date.now() - collection.finishedAt) / 1000) : '';
  const stale = source.staleAnswers ? staleFamily(source.staleAnswers()) : '';
  const selfBuf = Buffer.from(age + stale + self);
  if (gzip) {
    // Concatenated gzip members are one valid gzip stream (RFC 1952 §2.2): the collection's
    // member is compressed once and shared by concurrent scrapers; only the small tail is per request.
    const [a, b] = await Promise.all([collection.gzip(), gzipBody(selfBuf)]);
    send(res, 200, CONTENT_TYPE, [a, b], {
      'Content-Encoding': 'gzip',
      Vary: 'Accept-Encoding',
    });
  } else {
    const { plain } = collection;
    if (!plain) {
      send(res, 200, CONTENT_TYPE, [...collection.body, selfBuf], { Vary: 'Accept-Encoding' });
      return;
    }
    // Held compressed: unzipped as this client reads, so plain readers (curl) cost no copy of the text each.
    await sendStream(res, 200, CONTENT_TYPE, plain, selfBuf, {
      Vary: 'Accept-Encoding',
    });
  }
}

function ageFamily(seconds: number): string {
  return (
    "# HELP vsphere_collection_age_seconds Seconds since the served collection finished: up to an interval in background mode; in on-scrape mode about 0, more when the scrape's deadline passed before its own collection finished and it answered the last complete one.\n" +
    '# TYPE vsphere_collection_age_seconds gauge\n' +
    `vsphere_collection_age_seconds ${Math.max(0, seconds)}\n`
  );
}

function staleFamily(count: number): string {
  return (
    '# HELP vsphere_scrape_stale_answers_total Scrapes answered with the last complete collection because their own collection was not done by their deadline (it runs on for the next scrape).\n' +
    '# TYPE vsphere_scrape_stale_answers_total counter\n' +
    `vsphere_scrape_stale_answers_total ${count}\n`
  );
}
