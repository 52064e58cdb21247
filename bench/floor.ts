/**
 * The floor: the SOAP requests of one captured scrape, replayed sequentially over ONE keep-alive
 * connection with the exporter's session cookie, response bodies read and thrown away unparsed.
 *
 * Objects a scrape creates get a new moid on every call (CreateContainerView, CreateFilter…), and
 * paged reads a new token: the replay learns the new value from the answer (a plain search in its
 * first 64 KiB, no XML parsing) and rewrites it into the requests that follow. Requests that would
 * touch the exporter's own session state are skipped and reported: Login/Logout and friends,
 * Destroy…/Cancel… of objects this replay did not create, and long-polls that may block.
 */
import { Client } from 'undici';
import type { CapturedRequest } from './counting-proxy.js';

/** Outcome of the floor replays. */
export interface FloorResult {
  /** Wall time of each replay, in ms. */
  runsMs: number[];
  medianMs: number;
  /** Requests replayed per run. */
  requests: number;
  /** Requests of the capture not replayed, by method (see the module comment). */
  skipped: Record<string, number>;
  /** Requests per run whose body got a learnt moid or token rewritten in. */
  rewritten: number;
  /** Replayed requests whose HTTP status differed from the captured one (a replay fidelity check). */
  statusMismatches: number;
  /** Response body bytes per run. */
  responseBytes: number;
}

const HEAD_BYTES = 64 * 1024;
const NEVER = new Set([
  'Login',
  'LoginByToken',
  'LoginExtensionByCertificate',
  'Logout',
  'TerminateSession',
  'CloneSession',
  'AcquireCloneTicket',
  'CancelWaitForUpdates',
  'DestroyCollector',
]);
const LONG_POLL = new Set(['WaitForUpdates', 'WaitForUpdatesEx']);
const RETURNVAL_RE = /<(?:[\w.-]+:)?returnval\b[^>]*\btype="([^"]+)"[^>]*>([^<]+)</;
const TOKEN_RE = /<(?:[\w.-]+:)?token>([^<]+)</;
const OBJECT_REF_RE = /(\btype="([^"]+)">)([^<]+)</g;
const TOKEN_REF_RE = /(<(?:[\w.-]+:)?token>)([^<]+)</g;
const NO_WAIT_RE = /<(?:[\w.-]+:)?maxWaitSeconds>\s*0\s*</;

/** Median of `xs` (mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Old → new identifiers learnt during one replay. */
class Rewrites {
  /** `type="T">old<` → new, per created object. */
  readonly objects = new Map<string, { type: string; value: string }>();
  readonly tokens = new Map<string, string>();

  /** Learns from a captured answer and the replayed one. */
  learn(method: string, captured: Buffer, replayed: Buffer): void {
    const a = captured.toString('utf8');
    const b = replayed.toString('utf8');
    if (method.startsWith('Create')) {
      const old = RETURNVAL_RE.exec(a);
      const now = RETURNVAL_RE.exec(b);
      if (old && now && old[1] === now[1])
        this.objects.set(`${old[1]}\0${old[2]}`, { type: now[1]!, value: now[2]! });
    }
    const oldToken = TOKEN_RE.exec(a)?.[1];
    const newToken = TOKEN_RE.exec(b)?.[1];
    if (oldToken !== undefined && newToken !== undefined) this.tokens.set(oldToken, newToken);
  }

  /** The body with every learnt identifier replaced (in one pass, so no replacement is replaced again). */
  apply(body: Buffer): { body: Buffer; touched: boolean } {
    if (this.objects.size === 0 && this.tokens.size === 0) return { body, touched: false };
    let touched = false;
    const text = body
      .toString('utf8')
      .replace(OBJECT_REF_RE, (m, open: string, type: string, value: string) => {
        const to = this.objects.get(`${type}\0${value}`);
        if (!to) return m;
        touched = true;
        return `${open}${to.value}<`;
      })
      .replace(TOKEN_REF_RE, (m, open: string, value: string) => {
        const to = this.tokens.get(value);
        if (to === undefined) return m;
        touched = true;
        return `${open}${to}<`;
      });
    return touched ? { body: Buffer.from(text, 'utf8'), touched } : { body, touched };
  }
}

/** Why `req` is never replayed, or undefined when it may be. */
function skipReason(req: CapturedRequest): string | undefined {
  if (NEVER.has(req.method)) return 'session';
  if (LONG_POLL.has(req.method) && !NO_WAIT_RE.test(req.body.toString('latin1'))) return 'long-poll';
  return undefined;
}

/** What to do with each captured request, decided before the clock starts. */
interface Step {
  req: CapturedRequest;
  skip: boolean;
  /** Its body mentions an identifier the replay will learn anew: rewrite it. */
  rewrite: boolean;
  /** Its answer carries an identifier (created moid, paging token) to learn. */
  learn: boolean;
}

/** Plans the replay: which requests to skip, rewrite, and learn from. */
function plan(capture: readonly CapturedRequest[]): Step[] {
  const olds: string[] = [];
  const steps = capture.map((req) => {
    const head = req.responseHead.toString('utf8');
    const created = req.method.startsWith('Create') ? RETURNVAL_RE.exec(head)?.[2] : undefined;
    const token = TOKEN_RE.exec(head)?.[1];
    if (created !== undefined) olds.push(`>${created}<`);
    if (token !== undefined) olds.push(`>${token}<`);
    return {
      req,
      skip: skipReason(req) !== undefined,
      rewrite: false,
      learn: created !== undefined || token !== undefined,
    };
  });
  for (const s of steps) s.rewrite = olds.some((o) => s.req.body.includes(o));
  return steps;
}

/** One sequential replay of `steps` to `url` over a fresh single connection. */
async function replayOnce(
  url: URL,
  steps: readonly Step[],
  signal: AbortSignal | undefined,
): Promise<{
  ms: number;
  requests: number;
  rewritten: number;
  skipped: Record<string, number>;
  mismatches: number;
  bytes: number;
}> {
  const client = new Client(url.origin, {
    pipelining: 1,
    keepAliveTimeout: 120_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const rw = new Rewrites();
  const skipped: Record<string, number> = {};
  let requests = 0;
  let rewritten = 0;
  let mismatches = 0;
  let bytes = 0;
  try {
    const started = performance.now();
    for (const { req, skip, rewrite, learn } of steps) {
      signal?.throwIfAborted();
      const { body, touched } = rewrite && !skip ? rw.apply(req.body) : { body: req.body, touched: false };
      // A Destroy…/Cancel… of something this replay did not create would hit the exporter's own objects.
      if (skip || (/^(Destroy|Cancel)/.test(req.method) && !touched)) {
        skipped[req.method] = (skipped[req.method] ?? 0) + 1;
        continue;
      }
      const res = await client.request({
        path: url.pathname,
        method: 'POST',
        headers: req.headers,
        body,
        signal,
      });
      const head: Buffer[] = [];
      let headLen = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (learn && headLen < HEAD_BYTES) {
          head.push(chunk);
          headLen += chunk.length;
        }
      }
      requests++;
      if (touched) rewritten++;
      if (res.statusCode !== req.status) mismatches++;
      if (learn) rw.learn(req.method, req.responseHead, Buffer.concat(head).subarray(0, HEAD_BYTES));
    }
    return { ms: performance.now() - started, requests, rewritten, skipped, mismatches, bytes };
  } finally {
    await client.close().catch(() => client.destroy());
  }
}

/** Replays `capture` `runs` times to `upstreamUrl` (vcsim's .../sdk, or a proxy in front of it). */
export async function measureFloor(
  upstreamUrl: string,
  capture: readonly CapturedRequest[],
  runs: number,
  signal?: AbortSignal,
): Promise<FloorResult> {
  // Background mode: a scrape sends nothing to vCenter, so there is no floor to compare with.
  if (capture.length === 0) {
    return {
      runsMs: [],
      medianMs: 0,
      requests: 0,
      skipped: {},
      rewritten: 0,
      statusMismatches: 0,
      responseBytes: 0,
    };
  }
  const url = new URL(upstreamUrl);
  const steps = plan(capture);
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await replayOnce(url, steps, signal));
  const last = results[results.length - 1]!;
  return {
    runsMs: results.map((r) => r.ms),
    medianMs: median(results.map((r) => r.ms)),
    requests: last.requests,
    rewritten: last.rewritten,
    skipped: last.skipped,
    statusMismatches: Math.max(...results.map((r) => r.mismatches)),
    responseBytes: last.bytes,
  };
}
