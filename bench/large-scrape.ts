/**
 * One scrape of the large-inventory benchmark, read as Prometheus would (gzip, the timeout header,
 * given up at the timeout) and tallied line by line without keeping the ~100 MiB body.
 */
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { Client } from 'undici';

/** What one scrape told. */
export interface LargeScrape {
  /** 1, 0, or NaN when the scrape failed (timeout, HTTP error). */
  up: number;
  /** vsphere_last_error_info's code and message, or the client's own failure. */
  reason: string;
  vmInfo: number;
  samples: number;
  wallMs: number;
  /** vsphere_scrape_duration_seconds. */
  collectionSeconds: number;
  /** vsphere_collection_age_seconds: > 0 when the answer was the last complete collection, its own being late. */
  ageSeconds: number;
  /** vsphere_soap_requests_total by method (all outcomes), cumulative. */
  calls: Map<string, number>;
  /** vsphere_collector_duration_seconds by collector. */
  collectors: Map<string, number>;
  /** Collectors whose vsphere_collector_success is 0. */
  failed: string[];
}

const label = (line: string, name: string): string | undefined =>
  new RegExp(`[{,]${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(line)?.[1];
const value = (line: string): number => Number(line.slice(line.lastIndexOf(' ') + 1));

/** Tallies one exposition line into `s`. */
function tally(s: LargeScrape, line: string): void {
  if (line === '' || line.startsWith('#')) return;
  s.samples++;
  if (line.startsWith('vsphere_vm_info{')) s.vmInfo++;
  else if (line.startsWith('vsphere_up ')) s.up = value(line);
  else if (line.startsWith('vsphere_last_error_info{'))
    s.reason = `${label(line, 'code')}: ${label(line, 'message')}`;
  else if (line.startsWith('vsphere_scrape_duration_seconds ')) s.collectionSeconds = value(line);
  else if (line.startsWith('vsphere_collection_age_seconds ')) s.ageSeconds = value(line);
  else if (line.startsWith('vsphere_soap_requests_total{')) {
    const m = label(line, 'method') ?? '?';
    s.calls.set(m, (s.calls.get(m) ?? 0) + value(line));
  } else if (line.startsWith('vsphere_collector_duration_seconds{'))
    s.collectors.set(label(line, 'collector') ?? '?', value(line));
  else if (line.startsWith('vsphere_collector_success{') && value(line) === 0)
    s.failed.push(label(line, 'collector') ?? '?');
}

/** Scrapes /metrics with Prometheus' timeout header and gzip; never throws (a failure is the reason). */
export async function largeScrape(
  client: Client,
  timeoutSeconds: number,
  gzip: boolean,
): Promise<LargeScrape> {
  const s: LargeScrape = {
    up: Number.NaN,
    reason: '',
    vmInfo: 0,
    samples: 0,
    wallMs: 0,
    collectionSeconds: Number.NaN,
    ageSeconds: Number.NaN,
    calls: new Map(),
    collectors: new Map(),
    failed: [],
  };
  const t0 = performance.now();
  try {
    const res = await client.request({
      path: '/metrics',
      method: 'GET',
      headers: {
        'x-prometheus-scrape-timeout-seconds': String(timeoutSeconds),
        ...(gzip ? { 'accept-encoding': 'gzip' } : {}),
      },
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
    const zipped = res.headers['content-encoding'] === 'gzip';
    let body: Readable = res.body;
    if (zipped) {
      const gunzip = createGunzip();
      // pipe() does not pass a failure on (a timeout mid-body): forward it, or it is unhandled.
      res.body.on('error', (e) => gunzip.destroy(e));
      body = res.body.pipe(gunzip);
    }
    let rest = '';
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const text = rest + chunk.toString('utf8');
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        tally(s, text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    tally(s, rest);
    if (res.statusCode !== 200) s.reason = `HTTP ${res.statusCode}`;
  } catch (e) {
    s.up = Number.NaN;
    s.reason = `scrape failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  s.wallMs = performance.now() - t0;
  return s;
}
