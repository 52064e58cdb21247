import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Collection } from './scraper.js';

const gunzipAsync = promisify(gunzip);

/**
 * A finished collection as kept for later scrapes: only its gzip (about a tenth of the text at
 * 50,000 VMs), so holding it while the next collection builds its own body does not double the
 * peak; a client that does not accept gzip gets it unzipped on demand.
 */
export function keepCompact(c: Collection): Collection {
  const gz = c.gzip();
  // A failed gzip surfaces to the scrape that serves it; kept alone it must not be unhandled.
  gz.catch(() => undefined);
  return {
    up: c.up,
    durationSeconds: c.durationSeconds,
    finishedAt: c.finishedAt,
    body: [],
    gzip: () => gz,
    plain: async () => [await gunzipAsync(await gz)],
  };
}
