/**
 * The benchmark's Prometheus: timed scrapes of the exporter over one keep-alive connection, with
 * the scrape timeout header Prometheus sends, and the arithmetic on what came back.
 */
import { gunzipSync } from 'node:zlib';
import { Client } from 'undici';

/** One scrape as the client saw it. */
export interface TimedScrape {
  status: number;
  /** From sending the request to the last body byte, in ms. */
  wallMs: number;
  body: Buffer;
  contentEncoding: string | undefined;
}

/** Scrapes `baseUrl`/metrics; `timeoutSeconds` goes into X-Prometheus-Scrape-Timeout-Seconds. */
export class ScrapeClient {
  private readonly client: Client;

  constructor(
    baseUrl: string,
    private readonly timeoutSeconds: number,
  ) {
    this.client = new Client(baseUrl, {
      pipelining: 1,
      keepAliveTimeout: 120_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: (timeoutSeconds + 30) * 1000,
      bodyTimeout: (timeoutSeconds + 30) * 1000,
    });
  }

  /** GET /metrics, plain by default or with `accept-encoding: gzip` (body left compressed). */
  async scrape(opts: { gzip?: boolean; signal?: AbortSignal } = {}): Promise<TimedScrape> {
    const headers: Record<string, string> = {
      'x-prometheus-scrape-timeout-seconds': String(this.timeoutSeconds),
    };
    if (opts.gzip) headers['accept-encoding'] = 'gzip';
    const started = performance.now();
    const res = await this.client.request({ path: '/metrics', method: 'GET', headers, signal: opts.signal });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body as AsyncIterable<Buffer>) chunks.push(chunk);
    const wallMs = performance.now() - started;
    const enc = res.headers['content-encoding'];
    return {
      status: res.statusCode,
      wallMs,
      body: Buffer.concat(chunks),
      contentEncoding: Array.isArray(enc) ? enc.join(', ') : enc,
    };
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.client.close().catch(() => this.client.destroy());
  }
}

/** Exported samples in an exposition body: lines that are neither empty nor comments. */
export function countSamples(body: Buffer): number {
  let n = 0;
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(10, start);
    if (end < 0) end = body.length;
    if (end > start && body[start] !== 0x23 /* # */) n++;
    start = end + 1;
  }
  return n;
}

/** `s` with its body as text: unzipped when it came gzipped (what Prometheus asks for). */
export function unzipped(s: TimedScrape): TimedScrape {
  return s.contentEncoding === 'gzip' ? { ...s, body: gunzipSync(s.body), contentEncoding: undefined } : s;
}

/** Why a scrape does not count as a complete collection, or undefined when it does. */
export function scrapeProblem(s: TimedScrape): string | undefined {
  if (s.status !== 200) return `HTTP ${s.status}`;
  const text = s.body.toString('utf8');
  if (!/^vsphere_up 1$/m.test(text)) return 'vsphere_up is not 1';
  const failed = /^vsphere_collector_success\{[^}]*\} 0$/m.exec(text);
  if (failed) return `collector failed: ${failed[0]}`;
  return undefined;
}

/** Nearest-rank percentile `p` (0–100) of `xs`; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
