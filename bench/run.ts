/**
 * The performance benchmark (`npm run bench`, docs/performance.md): for each size in BENCH_SIZES
 * (default 1000,5000,10000 VMs) and each latency in BENCH_LATENCY_MS (default 0 ms per call) it
 * measures the built exporter against vcsim through a counting proxy, sends the floor (the fewest
 * calls a scrape needs, at the same latency), prints a table and writes
 * `<BENCH_RESULTS_DIR>/<YYYY-MM-DD>.json`. Runs go one after another, never concurrently.
 * Loopback only; everything it starts is stopped, also on error and Ctrl-C.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { checkSplit } from './cores.js';
import { govmomiBinary, type GovmomiOptions } from './govmomi.js';
import { measureSize, type SizeResult } from './measure.js';
import type { PerfBatching } from './perf-batches.js';
import type { LatencyProfile } from './profiles.js';
import {
  formatReport,
  linearGrowth,
  machineInfo,
  TARGETS,
  type LinearGrowth,
  type MachineInfo,
} from './report.js';

/** What to run. */
export interface BenchOptions {
  sizes: number[];
  /** Measured scrapes per size. */
  scrapes: number;
  /** Warm-up scrapes per size (not measured). */
  warmup: number;
  /** Floor runs per size (median taken). */
  floorRuns: number;
  /** Delays vcsim adds to every SOAP call, in ms: each size is measured once per value. */
  latenciesMs: number[];
  /** Jitter of that delay (coefficient of variation; 0: none). */
  jitter: number;
  /** Measured scrapes ask for gzip, as Prometheus does (false: plain text). */
  gzip: boolean;
  /** vcsim on CPU 0, the exporter and the bench on CPU 1 (bench/cores.ts). */
  splitCores?: boolean;
  /** How the floor packs QueryPerf specs. */
  batching: PerfBatching;
  /** Connections of the floor's QueryPerf batches; default: the exporter's own peak. */
  floorConcurrency?: number;
  /** Directory of the JSON result. */
  resultsDir: string;
  /** Merged over the default exporter configuration `{ scrape: { timeout_seconds: 120 } }`. */
  exporterConfig?: Record<string, unknown>;
  /** The govmomi comparison (Telegraf's collection) per size and latency; absent: not run. */
  govmomi?: GovmomiOptions;
  signal?: AbortSignal;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** The whole result, as written to the JSON file. */
export interface BenchResult {
  date: string;
  machine: MachineInfo;
  options: {
    sizes: number[];
    scrapes: number;
    warmup: number;
    floorRuns: number;
    latenciesMs: number[];
    jitter: number;
    gzip: boolean;
    splitCores: boolean;
    batching: PerfBatching;
    floorConcurrency: number | null;
    govmomi: GovmomiOptions | null;
  };
  exporterConfig: Record<string, unknown>;
  targets: typeof TARGETS;
  /** One entry per size and latency, in the order run. */
  sizes: SizeResult[];
  /** Over the sizes measured at the first latency. */
  linearGrowth: LinearGrowth | null;
  /** Set when the run stopped early; `sizes` then holds the sizes completed before. */
  error?: string;
}

// vcsim 0.24 ignores RetrievePropertiesEx's maxObjects and answers the whole inventory in one page
// (~40 MiB at 10,000 VMs and 200 hosts with their sensors); vCenter pages at 1,000 objects, far
// below the default 32 MiB cap. The cap is raised so the benchmark measures the exporter, not that quirk.
const DEFAULT_CONFIG = {
  scrape: { timeout_seconds: 120 },
  vsphere: { max_response_bytes: 256 * 1024 * 1024 },
};

function positiveInt(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(
      `${name} must be ${min === 0 ? 'a whole number ≥ 0' : 'a positive integer'}, got ${JSON.stringify(raw)}`,
    );
  return n;
}

function list(name: string, raw: string, min: number): number[] {
  const out = raw
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => positiveInt(name, s.trim(), 0, min));
  if (out.length === 0) throw new Error(`${name} is empty`);
  return out;
}

/** BENCH_SPLIT_CORES: `1` gives vcsim CPU 0 and the exporter and the bench CPU 1 (bench/cores.ts). */
function splitCoresFrom(raw: string | undefined): boolean {
  const v = (raw ?? '0').trim();
  if (v !== '0' && v !== '1') throw new Error(`BENCH_SPLIT_CORES must be 0 or 1, got ${JSON.stringify(raw)}`);
  if (v === '1') checkSplit();
  return v === '1';
}

/** BENCH_JITTER: a coefficient of variation, 0 (none) to 2. */
function jitterFrom(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 2)
    throw new Error(`BENCH_JITTER must be a number from 0 to 2 (stddev / mean), got ${JSON.stringify(raw)}`);
  return n;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `over` merged into `base` key by key (nested mappings merged, everything else replaced). */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/**
 * Options from BENCH_SIZES, BENCH_LATENCY_MS, BENCH_JITTER, BENCH_SCRAPES, BENCH_WARMUP,
 * BENCH_FLOOR_RUNS, BENCH_GZIP, BENCH_SPLIT_CORES, BENCH_FLOOR_OBJECTS, BENCH_FLOOR_CONCURRENCY, BENCH_RESULTS_DIR, BENCH_EXPORTER_CONFIG,
 * BENCH_GOVMOMI, BENCH_GOVMOMI_COLLECTIONS, BENCH_GOVMOMI_OBJECTS, BENCH_GOVMOMI_METRICS, BENCH_GOVMOMI_CONCURRENCY,
 * BENCH_GOVMOMI_TIMEOUT_S.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const sizes = list('BENCH_SIZES', env.BENCH_SIZES ?? '1000,5000,10000', 1);
  const latenciesMs = list('BENCH_LATENCY_MS', env.BENCH_LATENCY_MS ?? '0', 0);
  const floorConcurrency = positiveInt('BENCH_FLOOR_CONCURRENCY', env.BENCH_FLOOR_CONCURRENCY, 0);
  let exporterConfig: Record<string, unknown> | undefined;
  const extra = env.BENCH_EXPORTER_CONFIG;
  if (extra !== undefined && extra.trim() !== '') {
    // Either YAML text or the path of a YAML file.
    const parsed: unknown = parse(existsSync(extra) ? readFileSync(extra, 'utf8') : extra);
    if (!isObject(parsed))
      throw new Error('BENCH_EXPORTER_CONFIG must be a YAML mapping (or a file holding one)');
    exporterConfig = parsed;
  }
  return {
    sizes,
    scrapes: positiveInt('BENCH_SCRAPES', env.BENCH_SCRAPES, 5),
    warmup: positiveInt('BENCH_WARMUP', env.BENCH_WARMUP, 2),
    floorRuns: positiveInt('BENCH_FLOOR_RUNS', env.BENCH_FLOOR_RUNS, 3),
    latenciesMs,
    jitter: jitterFrom(env.BENCH_JITTER),
    // Prometheus always sends Accept-Encoding: gzip; BENCH_GZIP=0 measures plain-text scrapes.
    gzip: (env.BENCH_GZIP ?? '1').trim() !== '0',
    splitCores: splitCoresFrom(env.BENCH_SPLIT_CORES),
    batching: {
      objectsPerCall: positiveInt('BENCH_FLOOR_OBJECTS', env.BENCH_FLOOR_OBJECTS, 256),
      maxQueryMetrics: maxQueryMetricsOf(exporterConfig),
    },
    ...(floorConcurrency > 0 ? { floorConcurrency } : {}),
    ...govmomiFromEnv(env),
    resultsDir: resolve(env.BENCH_RESULTS_DIR ?? join(import.meta.dirname, 'results')),
    ...(exporterConfig ? { exporterConfig } : {}),
  };
}

/**
 * BENCH_GOVMOMI: `1` runs the govmomi comparison (an error if its binary is missing), `0` does
 * not; unset, it runs when scripts/build-govmomi-bench.sh has built the binary.
 */
function govmomiFromEnv(env: NodeJS.ProcessEnv): { govmomi?: GovmomiOptions } {
  const raw = (env.BENCH_GOVMOMI ?? '').trim();
  if (raw !== '' && raw !== '0' && raw !== '1')
    throw new Error(`BENCH_GOVMOMI must be 0 or 1, got ${JSON.stringify(raw)}`);
  if (raw === '0' || (raw === '' && !existsSync(govmomiBinary))) return {};
  const metrics = (env.BENCH_GOVMOMI_METRICS ?? 'sample').trim() || 'sample';
  if (metrics !== 'sample' && metrics !== 'all')
    throw new Error(`BENCH_GOVMOMI_METRICS must be sample or all, got ${JSON.stringify(metrics)}`);
  if (!existsSync(govmomiBinary))
    throw new Error(`BENCH_GOVMOMI=1 but ${govmomiBinary} is missing: run scripts/build-govmomi-bench.sh`);
  return {
    govmomi: {
      collections: positiveInt('BENCH_GOVMOMI_COLLECTIONS', env.BENCH_GOVMOMI_COLLECTIONS, 3),
      objectsPerQuery: positiveInt('BENCH_GOVMOMI_OBJECTS', env.BENCH_GOVMOMI_OBJECTS, 0, 0),
      metrics,
      concurrency: positiveInt('BENCH_GOVMOMI_CONCURRENCY', env.BENCH_GOVMOMI_CONCURRENCY, 1),
      timeoutMs: positiveInt('BENCH_GOVMOMI_TIMEOUT_S', env.BENCH_GOVMOMI_TIMEOUT_S, 600) * 1000,
    },
  };
}

/** vsphere.max_query_metrics of the exporter's configuration, else vCenter's default 256 (vcsim has no such option). */
function maxQueryMetricsOf(config: Record<string, unknown> | undefined): number {
  const v = isObject(config?.vsphere) ? config.vsphere.max_query_metrics : undefined;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : 256;
}

/** Runs every size in turn, writes the JSON result, and returns it with the file's path. */
export async function runBenchmark(opts: BenchOptions): Promise<{ result: BenchResult; file: string }> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const exporterConfig = deepMerge(DEFAULT_CONFIG, opts.exporterConfig ?? {});
  const date = new Date().toISOString();
  const result: BenchResult = {
    date,
    machine: machineInfo(),
    options: {
      sizes: opts.sizes,
      scrapes: opts.scrapes,
      warmup: opts.warmup,
      floorRuns: opts.floorRuns,
      latenciesMs: opts.latenciesMs,
      jitter: opts.jitter,
      gzip: opts.gzip,
      splitCores: opts.splitCores === true,
      batching: opts.batching,
      floorConcurrency: opts.floorConcurrency ?? null,
      govmomi: opts.govmomi ?? null,
    },
    exporterConfig,
    targets: TARGETS,
    sizes: [],
    linearGrowth: null,
  };
  let file = join(opts.resultsDir, `${date.slice(0, 10)}.json`);
  try {
    for (const size of opts.sizes) {
      for (const ms of opts.latenciesMs) {
        const latency: LatencyProfile = { ms, jitter: ms > 0 ? opts.jitter : 0 };
        result.sizes.push(
          await measureSize(size, {
            scrapes: opts.scrapes,
            warmup: opts.warmup,
            floorRuns: opts.floorRuns,
            gzip: opts.gzip,
            latency,
            splitCores: opts.splitCores === true,
            batching: opts.batching,
            ...(opts.floorConcurrency ? { floorConcurrency: opts.floorConcurrency } : {}),
            exporterConfig,
            ...(opts.govmomi ? { govmomi: opts.govmomi } : {}),
            log,
            ...(opts.signal ? { signal: opts.signal } : {}),
          }),
        );
      }
    }
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    // An interrupted or failed run must not overwrite a complete result of the same day.
    file = join(opts.resultsDir, `${date.slice(0, 10)}.incomplete.json`);
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { benchResult: result });
  } finally {
    result.linearGrowth = linearGrowth(result.sizes.filter((s) => s.latency.ms === opts.latenciesMs[0]));
    mkdirSync(opts.resultsDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to ${file}`);
  }
  return { result, file };
}

async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupted = false;
  // The harness SIGKILLs vcsim and the exporter on the first signal; aborting lets every size's
  // cleanup (proxy, temp files) run. A second signal exits at once.
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error('interrupted: stopping everything');
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const opts = optionsFromEnv();
    const { result } = await runBenchmark({ ...opts, signal: controller.signal });
    console.log(formatReport(result.sizes, result.linearGrowth));
    const broken = result.sizes.some((s) => s.failedScrapes > 0 || s.floor.statusMismatches > 0);
    if (broken) console.error('bench: some scrapes failed or the floor replay diverged; figures are suspect');
    process.exitCode = broken ? 1 : 0;
  } catch (err) {
    const partial = (err as { benchResult?: BenchResult }).benchResult;
    if (partial?.sizes.length) console.log(formatReport(partial.sizes, partial.linearGrowth));
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = interrupted ? 130 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) await main();
