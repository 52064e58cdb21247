import type { IncomingMessage, ServerResponse } from 'node:http';
import { acceptsGzip, CONTENT_TYPE, gzipBody } from '../exposition/index.js';
import { collectionBudgetSeconds, type DeadlineConfig } from '../scrape/deadline.js';
import type { Scraper } from '../scrape/scraper.js';
import { send } from './http-server.js';

/** Source of the exporter's own process/runtime metrics (prom-client's default metrics). */
export type SelfMetrics = () => Promise<string>;

/** GET /metrics: one (shared) collection plus the process metrics, gzipped when the scraper accepts it. */
export function metricsHandler(scraper: Scraper, deadline: DeadlineConfig, selfMetrics: SelfMetrics) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const budget = collectionBudgetSeconds(req.headers['x-prometheus-scrape-timeout-seconds'], deadline);
    const [collection, self] = await Promise.all([scraper.collect(budget), selfMetrics()]);
    const selfBuf = Buffer.from(self);
    if (acceptsGzip(req.headers['accept-encoding'])) {
      // Concatenated gzip members are one valid gzip stream (RFC 1952 §2.2): the collection's
      // member is compressed once and shared by concurrent scrapers; only the small tail is per request.
      const [a, b] = await Promise.all([collection.gzip(), gzipBody(selfBuf)]);
      send(res, 200, CONTENT_TYPE, Buffer.concat([a, b]), {
        'Content-Encoding': 'gzip',
        Vary: 'Accept-Encoding',
      });
    } else {
      send(res, 200, CONTENT_TYPE, Buffer.concat([collection.body, selfBuf]), { Vary: 'Accept-Encoding' });
    }
  };
}
