/**
 * The govmomi comparison (docs/performance.md): runs .cache/govmomi-bench/govmomi-bench
 * (bench/govmomi/, Telegraf's vsphere collection of VMs and hosts with govmomi) against the same
 * vcsim as the exporter, through its own counting proxy, and counts each phase's SOAP calls there —
 * the same counting as the exporter's. The program pauses after each phase (login, discover,
 * collect1..N, logout) until the proxy has been drained. Bounded: a deadline kills it by PID.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closed, eachLine, hold, orphanSafe, repoRoot, track } from '../test/harness/procs.js';
import { callsByMethod, median, peakInFlight } from './call-stats.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';

/** The binary scripts/build-govmomi-bench.sh builds. */
export const govmomiBinary = join(repoRoot, '.cache', 'govmomi-bench', 'govmomi-bench');

/** How to run the comparison. */
export interface GovmomiOptions {
  /** Collections after discovery: the first is the cold one, the others the steady state. */
  collections: number;
  /** Realtime objects per QueryPerf; 0: Telegraf's code (up to 50,000 metric ids per call). */
  objectsPerQuery: number;
  /** `sample`: the counters of Telegraf's sample.conf (vm_/host_metric_include); `all`: every available one. */
  metrics: 'sample' | 'all';
  /** Telegraf's collect_concurrency and discover_concurrency (default 1). */
  concurrency: number;
  /** Deadline of the whole run, in ms; the program is SIGKILLed past it. */
  timeoutMs: number;
}

/** One phase as the program reported it, with the calls the proxy saw meanwhile. */
export interface GovmomiPhase {
  phase: string;
  wallMs: number;
  cpuMs: number;
  samples: number;
  queries: number;
  calls: Record<string, number>;
  inFlight: number;
}

/** Figures of one run. */
export interface GovmomiResult {
  options: GovmomiOptions;
  /** VMs and hosts discovered, and the most metric ids one object is asked for. */
  objects: number;
  metricsPerObject: number;
  phases: GovmomiPhase[];
  /** Login, discovery, the first collection and logout: a fresh Telegraf's first collection. */
  cycle: { wallMs: number; cpuMs: number; calls: Record<string, number>; totalCalls: number };
  /** Collections 2..N (the steady state, discovery being every 300 s): median wall, the rest of that one. */
  collect: {
    wallMs: number;
    wallEachMs: number[];
    cpuMs: number;
    samples: number;
    usPerSample: number;
    calls: Record<string, number>;
    totalCalls: number;
    peakInFlight: number;
  };
  /** Peak RSS of the program (getrusage maxrss). */
  peakRssMiB: number;
}

interface Line {
  phase: string;
  wall_ms: number;
  cpu_ms: number;
  samples?: number;
  queries?: number;
  objects?: number;
  metrics_per_object?: number;
  peak_rss_kib: number;
  error?: string;
}

function sum(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => x.localeCompare(y)));
}

const total = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);

/** Runs the program against `upstreamUrl` (vcsim's .../sdk) as `user`; see the module comment. */
export async function runGovmomi(
  upstreamUrl: string,
  creds: { user: string; password: string },
  opts: GovmomiOptions,
  signal?: AbortSignal,
): Promise<GovmomiResult> {
  if (!existsSync(govmomiBinary))
    throw new Error(`${govmomiBinary} is missing: run scripts/build-govmomi-bench.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'vsx-govmomi-'));
  let proxy: CountingProxy | undefined;
  try {
    const pw = join(dir, 'password');
    writeFileSync(pw, `${creds.password}\n`, { mode: 0o600 });
    proxy = await startCountingProxy(upstreamUrl);
    const args = [
      ...['-url', proxy.url, '-user', creds.user, '-password-file', pw, '-step'],
      ...['-collections', String(opts.collections), '-objects', String(opts.objectsPerQuery)],
      ...[
        '-metrics',
        opts.metrics,
        '-collect-concurrency',
        String(opts.concurrency),
        '-deadline',
        `${opts.timeoutMs}ms`,
      ],
    ];
    const [cmd, argv] = orphanSafe(govmomiBinary, args);
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    track(child);
    hold(child); // awaited below
    const exited = closed(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => void (stderr = (stderr + s).slice(-4000)));
    const p = proxy;
    const lines: (Line & { calls: Record<string, number>; inFlight: number })[] = [];
    eachLine(child.stdout, (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        return;
      }
      // The phase's last answer was read before the line was written: every call is in the proxy.
      const recs = p.drain();
      lines.push({ ...line, calls: callsByMethod(recs), inFlight: peakInFlight(recs) });
      if (!line.error) child.stdin.write('\n');
    });
    child.stdin.on('error', () => undefined);
    const kill = (): void => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(kill, opts.timeoutMs + 5_000);
    signal?.addEventListener('abort', kill, { once: true });
    let exit;
    try {
      exit = await exited; // it exits after logout, or at its first error
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
    }
    signal?.throwIfAborted();
    // govmomi's errors may quote the request URL, which carries the credentials.
    const scrub = (text: string): string => text.split(creds.password).join('<password>');
    const failed = lines.find((l) => l.error);
    if (failed) throw new Error(scrub(`govmomi-bench: ${failed.phase}: ${failed.error}`));
    if (exit.code !== 0 || lines.at(-1)?.phase !== 'logout')
      throw new Error(
        scrub(`govmomi-bench exited (code ${exit.code}, signal ${exit.signal}): ${stderr.trim()}`),
      );
    return summarize(lines, opts);
  } finally {
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(
  lines: (Line & { calls: Record<string, number>; inFlight: number })[],
  options: GovmomiOptions,
): GovmomiResult {
  const phases: GovmomiPhase[] = lines.map((l) => ({
    phase: l.phase,
    wallMs: l.wall_ms,
    cpuMs: l.cpu_ms,
    samples: l.samples ?? 0,
    queries: l.queries ?? 0,
    calls: l.calls,
    inFlight: l.inFlight,
  }));
  const byName = (n: string): GovmomiPhase => phases.find((p) => p.phase === n)!;
  const cycleParts = ['login', 'discover', 'collect1', 'logout'].map(byName);
  const cycleCalls = cycleParts.reduce((acc, p) => sum(acc, p.calls), {} as Record<string, number>);
  // With one collection, it is the steady figure too.
  const steady = phases.filter(
    (p) => /^collect\d+$/.test(p.phase) && (p.phase !== 'collect1' || options.collections === 1),
  );
  const walls = steady.map((p) => p.wallMs);
  const mid = median(walls);
  const typical = steady.reduce((best, p) =>
    Math.abs(p.wallMs - mid) < Math.abs(best.wallMs - mid) ? p : best,
  );
  const discover = lines.find((l) => l.phase === 'discover');
  return {
    options,
    objects: discover?.objects ?? 0,
    metricsPerObject: discover?.metrics_per_object ?? 0,
    phases,
    cycle: {
      wallMs: cycleParts.reduce((a, p) => a + p.wallMs, 0),
      cpuMs: cycleParts.reduce((a, p) => a + p.cpuMs, 0),
      calls: cycleCalls,
      totalCalls: total(cycleCalls),
    },
    collect: {
      wallMs: mid,
      wallEachMs: walls,
      cpuMs: median(steady.map((p) => p.cpuMs)),
      samples: typical.samples,
      usPerSample:
        typical.samples > 0 ? (median(steady.map((p) => p.cpuMs)) * 1000) / typical.samples : Number.NaN,
      calls: typical.calls,
      totalCalls: total(typical.calls),
      peakInFlight: Math.max(...steady.map((p) => p.inFlight)),
    },
    peakRssMiB: Math.max(...lines.map((l) => l.peak_rss_kib)) / 1024,
  };
}
