/**
 * The floor: the fewest SOAP calls a steady-state scrape needs — one WaitForUpdatesEx (the
 * inventory's changes) and the QueryPerf batches of bench/perf-batches.ts (the samples) — sent
 * to vcsim at the run's latency and at the exporter's concurrency, answers read and thrown away
 * unparsed. It is made from one captured scrape: the WaitForUpdatesEx is the exporter's own
 * (session cookie, PropertyCollector, version, `maxWaitSeconds` 0) and the batches are its
 * QueryPerf specs packed again. WaitForUpdatesEx goes first, then the batches over `concurrency`
 * connections, because which entities to query depends on what changed. Every other call of the
 * capture (view reads, session calls, follow-up pages) is left out and counted in `leftOut`.
 */
import { Pool } from 'undici';
import { median } from './call-stats.js';
import type { CapturedRequest } from './counting-proxy.js';
import { rebatchQueryPerf, type PerfBatching } from './perf-batches.js';

/** Outcome of the floor runs. */
export interface FloorResult {
  /** Wall time of each run, in ms. */
  runsMs: number[];
  medianMs: number;
  /** Calls per run: `waitForUpdates` + `queryPerfBatches`. */
  requests: number;
  /** 1, or 0 when the capture has no WaitForUpdatesEx with maxWaitSeconds 0 (e.g. `inventory: full`). */
  waitForUpdates: number;
  queryPerfBatches: number;
  /** QueryPerf calls of the captured scrape the batches were made from. */
  capturedQueryPerf: number;
  realtimeObjects: number;
  historicalObjects: number;
  /** Connections the batches were sent over (calls in flight at most). */
  concurrency: number;
  batching: PerfBatching;
  /** Calls of the captured scrape the floor does without, by method. */
  leftOut: Record<string, number>;
  /** Answers whose HTTP status differs from the one the exporter's call of that method got (a fidelity check). */
  statusMismatches: number;
  /** Response body bytes per run. */
  responseBytes: number;
}

/** One call of the floor. */
interface Call {
  headers: Record<string, string>;
  body: Buffer;
  /** HTTP status the exporter's call got. */
  status: number;
}

const NO_WAIT_RE = /<(?:[\w.-]+:)?maxWaitSeconds>\s*0\s*</;

/** The floor's calls for `capture`: the WaitForUpdatesEx (or none) and the QueryPerf batches. */
export function planFloor(
  capture: readonly CapturedRequest[],
  batching: PerfBatching,
): {
  wait: Call | undefined;
  batches: Call[];
  leftOut: Record<string, number>;
  stats: Pick<FloorResult, 'capturedQueryPerf' | 'realtimeObjects' | 'historicalObjects'>;
} {
  const leftOut: Record<string, number> = {};
  let wait: Call | undefined;
  const perf = capture.filter((r) => r.method === 'QueryPerf');
  for (const r of capture) {
    if (r.method === 'QueryPerf') continue;
    // A long poll (maxWaitSeconds > 0 or absent) would wait for a change that never comes.
    if (!wait && r.method === 'WaitForUpdatesEx' && NO_WAIT_RE.test(r.body.toString('latin1'))) {
      wait = { headers: r.headers, body: r.body, status: r.status };
      continue;
    }
    leftOut[r.method] = (leftOut[r.method] ?? 0) + 1;
  }
  const packed = rebatchQueryPerf(
    perf.map((r) => r.body),
    batching,
  );
  const first = perf[0];
  const batches = first
    ? packed.bodies.map((body) => ({ headers: first.headers, body, status: first.status }))
    : [];
  return {
    wait,
    batches,
    leftOut,
    stats: {
      capturedQueryPerf: perf.length,
      realtimeObjects: packed.realtimeObjects,
      historicalObjects: packed.historicalObjects,
    },
  };
}

/** Sends `call`, reads its answer to the end; returns its status and body bytes. */
async function send(
  pool: Pool,
  path: string,
  call: Call,
  signal: AbortSignal | undefined,
): Promise<{ status: number; bytes: number }> {
  const res = await pool.request({ path, method: 'POST', headers: call.headers, body: call.body, signal });
  let bytes = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) bytes += chunk.length;
  return { status: res.statusCode, bytes };
}

/** One floor run over a fresh pool of `concurrency` connections. */
async function runOnce(
  url: URL,
  plan: ReturnType<typeof planFloor>,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<{ ms: number; mismatches: number; bytes: number }> {
  const pool = new Pool(url.origin, {
    connections: concurrency,
    pipelining: 1,
    keepAliveTimeout: 120_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  let mismatches = 0;
  let bytes = 0;
  const tally = (call: Call, r: { status: number; bytes: number }): void => {
    bytes += r.bytes;
    if (r.status !== call.status) mismatches++;
  };
  try {
    const started = performance.now();
    if (plan.wait) tally(plan.wait, await send(pool, url.pathname, plan.wait, signal));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plan.batches.length) {
        signal?.throwIfAborted();
        const call = plan.batches[next++]!;
        tally(call, await send(pool, url.pathname, call, signal));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, plan.batches.length) }, worker));
    return { ms: performance.now() - started, mismatches, bytes };
  } finally {
    await pool.close().catch(() => pool.destroy());
  }
}

/** The floor of one capture, planned once and run as often as asked (alone, or between the exporter's scrapes). */
export class Floor {
  private readonly plan: ReturnType<typeof planFloor>;
  private readonly runs: { ms: number; mismatches: number; bytes: number }[] = [];
  readonly concurrency: number;
  /** Calls per run; 0 in background mode, where a scrape sends nothing to vCenter and there is no floor. */
  readonly requests: number;

  constructor(
    capture: readonly CapturedRequest[],
    private readonly opts: { concurrency: number; batching: PerfBatching },
  ) {
    this.plan = planFloor(capture, opts.batching);
    this.concurrency = Math.max(1, Math.floor(opts.concurrency));
    this.requests = (this.plan.wait ? 1 : 0) + this.plan.batches.length;
  }

  /** One run against `upstreamUrl` (vcsim's .../sdk, or a proxy in front of it); its wall time in ms. */
  async run(upstreamUrl: string, signal?: AbortSignal): Promise<number> {
    if (this.requests === 0) throw new Error('the capture has no floor to run');
    const r = await runOnce(new URL(upstreamUrl), this.plan, this.concurrency, signal);
    this.runs.push(r);
    return r.ms;
  }

  /** The runs so far and the plan they followed. */
  result(): FloorResult {
    const runs = this.runs;
    return {
      runsMs: runs.map((r) => r.ms),
      medianMs: runs.length ? median(runs.map((r) => r.ms)) : 0,
      requests: this.requests,
      waitForUpdates: this.plan.wait ? 1 : 0,
      queryPerfBatches: this.plan.batches.length,
      ...this.plan.stats,
      concurrency: this.concurrency,
      batching: this.opts.batching,
      leftOut: this.plan.leftOut,
      statusMismatches: runs.length ? Math.max(...runs.map((r) => r.mismatches)) : 0,
      responseBytes: runs.at(-1)?.bytes ?? 0,
    };
  }
}

/** Runs the floor of `capture` `runs` times against `upstreamUrl` (vcsim's .../sdk, or a proxy in front of it). */
export async function measureFloor(
  upstreamUrl: string,
  capture: readonly CapturedRequest[],
  runs: number,
  opts: { concurrency: number; batching: PerfBatching },
  signal?: AbortSignal,
): Promise<FloorResult> {
  const floor = new Floor(capture, opts);
  for (let i = 0; i < runs && floor.requests > 0; i++) await floor.run(upstreamUrl, signal);
  return floor.result();
}
