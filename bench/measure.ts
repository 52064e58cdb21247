/**
 * One size of the benchmark at one latency profile: vcsim with N VMs and that per-call delay, the
 * built exporter behind the counting proxy, warm-up scrapes, measured scrapes (wall, CPU, RSS, SOAP
 * calls by method, their durations and concurrency, output size; gzip as Prometheus asks, unless
 * `gzip` is off, then one extra gzip scrape for the compressed size), and the floor
 * made from the last measured scrape (bench/floor.ts: straight to vcsim, and through the proxy each
 * run paired with one more exporter scrape), then, with the exporter stopped, the govmomi
 * comparison on the same vcsim (bench/govmomi.ts). Everything it starts is stopped before it returns.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startExporter, type ExporterProcess } from '../test/harness/exporter.js';
import { startVcsim, type Vcsim } from '../test/harness/vcsim.js';
import {
  startCountingProxy,
  type CapturedRequest,
  type CountingProxy,
  type ProxyRecord,
} from './counting-proxy.js';
import { callsByMethod, callTimesByMethod, median, peakInFlight, type CallTimes } from './call-stats.js';
import { Floor, measureFloor, type FloorResult } from './floor.js';
import { runGovmomi, type GovmomiOptions, type GovmomiResult } from './govmomi.js';
import type { PerfBatching } from './perf-batches.js';
import { latencyArgs, vcsimArgsFor, type LatencyProfile } from './profiles.js';
import { pinTo, unpinSelf } from './cores.js';
import { cpuSeconds, resetPeakRss, statusBytes } from './proc-stats.js';
import {
  countSamples,
  percentile,
  ScrapeClient,
  scrapeProblem,
  unzipped,
  type TimedScrape,
} from './scrape-client.js';

/** How to measure one size. */
export interface MeasureOptions {
  scrapes: number;
  warmup: number;
  floorRuns: number;
  /** Measured scrapes ask for gzip, as Prometheus does (false: plain text). */
  gzip?: boolean;
  /** Per-call delay vcsim adds to every SOAP call. */
  latency: LatencyProfile;
  /** vcsim on CPU 0, the exporter and the bench on CPU 1 (bench/cores.ts). */
  splitCores?: boolean;
  /** How the floor packs QueryPerf specs. */
  batching: PerfBatching;
  /** Connections of the floor's QueryPerf batches; default: the most QueryPerf calls the exporter had in flight at once. */
  floorConcurrency?: number;
  /** Exporter configuration (YAML object); scrape.timeout_seconds is the scrape timeout header. */
  exporterConfig: Record<string, unknown>;
  /** Run the govmomi comparison (Telegraf's collection) after the exporter; absent: not run. */
  govmomi?: GovmomiOptions;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/** Everything measured for one size at one latency. */
export interface SizeResult {
  size: number;
  latency: LatencyProfile;
  /** vcsim had CPU 0, the exporter and the bench CPU 1. */
  splitCores: boolean;
  vcsimArgs: string[];
  vms: number;
  hosts: number;
  vcsimStartSeconds: number;
  scrapes: number;
  /** Measured and paired scrapes (beside the floor's runs) that failed, each named in `problems`. */
  failedScrapes: number;
  problems: string[];
  wallMs: { median: number; p95: number; min: number; max: number; all: number[] };
  cpu: {
    exporterSecondsPerScrape: number;
    usPerSample: number;
    exporterSecondsEachScrape: number[];
    vcsimSecondsPerScrape: number;
    benchSecondsPerScrape: number;
    /** CPU of exporter, vcsim and bench (proxy, client) within the measured scrapes over their wall time: cores kept busy. */
    coresBusy: number;
    /** The same for the floor sent through the proxy: vcsim and bench CPU per run, and cores busy. */
    floor: { vcsimSecondsPerRun: number; benchSecondsPerRun: number; coresBusy: number };
  };
  rss: { peakMiB: number; peakSinceStartMiB: number; steadyMiB: number; peakReset: boolean };
  soap: {
    /** Calls per measured scrape by method (mean): the calls-per-scrape figure. */
    requestsPerScrape: Record<string, number>;
    /** The same, scrape by scrape (a steady state has the same counts in each). */
    requestsEachScrape: Record<string, number>[];
    /** Duration of the measured scrapes' calls by method (proxy in → last answer byte out). */
    callMs: Record<string, CallTimes>;
    /** Most calls in flight at once during a measured scrape (max over the scrapes): all methods, QueryPerf. */
    peakInFlight: { all: number; QueryPerf: number };
    responseBytesPerScrape: Record<string, number>;
    totalRequestsPerScrape: number;
    totalResponseBytesPerScrape: number;
    fullInventoryRetrievalsPerScrape: number;
    /** Requests sent between and right after the measured scrapes (keep-alive, background collection), total. */
    betweenScrapes: Record<string, number>;
  };
  served: { samples: number; plainBytes: number; gzipBytes: number | null };
  floor: FloorResult & {
    viaProxyMedianMs: number;
    /** Each run through the proxy beside an exporter scrape of its own: both walls (ms) and their ratio. */
    pairs: { exporterMs: number[]; floorMs: number[]; ratios: number[] };
  };
  /** Median of the paired ratios (exporter scrape wall / floor run wall, both through the proxy). */
  ratioToFloor: number;
  /** The govmomi comparison on the same vcsim, or null when not run. */
  govmomi: GovmomiResult | null;
  /** Exporter wall p50 / govmomi's steady collection wall (NaN when not run). */
  ratioToGovmomi: number;
}

const MiB = 1024 * 1024;

function add(into: Record<string, number>, key: string, n: number): void {
  into[key] = (into[key] ?? 0) + n;
}

function perScrape(totals: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(totals)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, v / n]),
  );
}

/** Measures one size; see the module comment. */
export async function measureSize(size: number, opts: MeasureOptions): Promise<SizeResult> {
  const { log, signal } = opts;
  const vcsimArgs = [...vcsimArgsFor(size), ...latencyArgs(opts.latency)];
  const tag = `${size}@${opts.latency.ms}ms`;
  const dir = mkdtempSync(join(tmpdir(), 'vsx-bench-'));
  let vc: Vcsim | undefined;
  let proxy: CountingProxy | undefined;
  let exporter: ExporterProcess | undefined;
  let client: ScrapeClient | undefined;
  try {
    log(`[${tag}] starting vcsim ${vcsimArgs.join(' ')}`);
    const t0 = performance.now();
    vc = await startVcsim({ args: vcsimArgs });
    const vcsimStartSeconds = (performance.now() - t0) / 1000;
    const { vms, hosts } = vc.inventory;
    if (vms.length !== size) throw new Error(`vcsim has ${vms.length} VMs, expected ${size}`);
    log(`[${tag}] vcsim: ${vms.length} VMs on ${hosts.length} hosts in ${vcsimStartSeconds.toFixed(1)} s`);
    signal?.throwIfAborted();
    if (opts.splitCores) pinTo(vc.pid, 0);

    proxy = await startCountingProxy(vc.url);
    const pw = join(dir, 'password');
    writeFileSync(pw, `${vc.password}\n`, { mode: 0o600 });
    const configFile = join(dir, 'exporter.yml');
    writeFileSync(configFile, stringify(opts.exporterConfig));
    exporter = await startExporter({
      env: {
        VSPHERE_URL: proxy.url,
        VSPHERE_USER: vc.user,
        VSPHERE_PASSWORD_FILE: pw,
        // V8 flags to compare (e.g. --max-semi-space-size=4); the exporter otherwise gets none.
        ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      },
      args: ['--config.file', configFile],
      // Flags Node refuses in NODE_OPTIONS (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof), space-separated.
      ...(process.env.BENCH_NODE_ARGS
        ? { nodeArgs: process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) }
        : {}),
    });
    if (opts.splitCores) {
      pinTo(exporter.pid, 1);
      pinTo(process.pid, 1);
      log(`[${tag}] cores split: vcsim on CPU 0, the exporter and the bench on CPU 1`);
    }
    const scrapeCfg = opts.exporterConfig.scrape as { timeout_seconds?: number } | undefined;
    client = new ScrapeClient(exporter.baseUrl, scrapeCfg?.timeout_seconds ?? 120);
    const pid = exporter.pid;

    for (let i = 1; i <= opts.warmup; i++) {
      // Read as text: a gzipped body would always look like vsphere_up 0.
      const s = unzipped(await client.scrape({ gzip: opts.gzip === true, signal }));
      const problem = scrapeProblem(s);
      log(`[${tag}] warm-up ${i}: ${s.wallMs.toFixed(0)} ms${problem ? ` (${problem})` : ''}`);
    }
    const peakSinceStart = statusBytes(pid, 'VmHWM');
    const peakReset = resetPeakRss(pid);

    const between: Record<string, number> = {};
    const count = (recs: ProxyRecord[], into: Record<string, number>) => {
      for (const r of recs) add(into, r.method, 1);
    };
    proxy.drain(); // warm-up traffic
    const walls: number[] = [];
    const cpuEach: number[] = [];
    const problems: string[] = [];
    const requests: Record<string, number> = {};
    const bytes: Record<string, number> = {};
    let fullInventory = 0;
    let samples = 0;
    let plainBytes = 0;
    let gzipBytes: number | null = null;
    let capture: CapturedRequest[] = [];
    const scrapeRecords: ProxyRecord[][] = [];
    const vcsimCpu0 = cpuSeconds(vc.pid);
    const benchCpu0 = process.cpuUsage();
    const cpu0 = cpuSeconds(pid);
    // Core-seconds of exporter, vcsim and bench within the scrapes (the bench's unzipping after each is left out).
    let busyDuring = 0;
    for (let i = 1; i <= opts.scrapes; i++) {
      const last = i === opts.scrapes;
      count(proxy.drain(), between);
      proxy.setCapture(last);
      const before = cpuSeconds(pid);
      const vcsimBefore = cpuSeconds(vc.pid);
      const benchBefore = process.cpuUsage();
      const got = await client.scrape({ gzip: opts.gzip === true, signal });
      cpuEach.push(cpuSeconds(pid) - before);
      const benchDuring = process.cpuUsage(benchBefore);
      busyDuring +=
        cpuEach.at(-1)! + cpuSeconds(vc.pid) - vcsimBefore + (benchDuring.user + benchDuring.system) / 1e6;
      // Unzipped after the exporter's CPU was read: the text is what is counted and checked.
      const s = unzipped(got);
      if (got.contentEncoding === 'gzip') gzipBytes = got.body.length;
      proxy.setCapture(false);
      const recs = proxy.drain();
      scrapeRecords.push(recs);
      if (last) capture = recs.flatMap((r) => (r.capture ? [r.capture] : []));
      walls.push(s.wallMs);
      const problem = scrapeProblem(s);
      if (problem) problems.push(`scrape ${i}: ${problem}`);
      samples = countSamples(s.body);
      plainBytes = s.body.length;
      log(
        `[${tag}] scrape ${i}: ${s.wallMs.toFixed(0)} ms, ${recs.length} SOAP requests${problem ? ` (${problem})` : ''}`,
      );
    }
    const cpuTotal = cpuSeconds(pid) - cpu0;
    const vcsimCpu = cpuSeconds(vc.pid) - vcsimCpu0;
    const benchCpu = process.cpuUsage(benchCpu0);
    const peak = statusBytes(pid, 'VmHWM');
    const steady = statusBytes(pid, 'VmRSS');
    // Response bytes are final only once every answer has ended; the scrape waited for all of them.
    for (const recs of scrapeRecords) {
      for (const r of recs) {
        add(requests, r.method, 1);
        add(bytes, r.method, r.responseBytes);
        if (r.fullInventory) fullInventory++;
      }
    }
    const allRecords = scrapeRecords.flat();
    const peakAll = Math.max(0, ...scrapeRecords.map((recs) => peakInFlight(recs)));
    const peakQueryPerf = Math.max(0, ...scrapeRecords.map((recs) => peakInFlight(recs, 'QueryPerf')));

    count(proxy.drain(), between);
    if (!opts.gzip) {
      const gz = await client.scrape({ gzip: true, signal });
      gzipBytes = gz.contentEncoding === 'gzip' ? gz.body.length : null;
    }
    proxy.drain();

    log(
      `[${tag}] floor: from ${capture.length} captured calls, ${opts.floorRuns}× direct and ${opts.floorRuns}× via the proxy, each beside a scrape`,
    );
    const floorOpts = {
      concurrency: opts.floorConcurrency ?? Math.max(1, peakQueryPerf),
      batching: opts.batching,
    };
    const floor = await measureFloor(vc.url, capture, opts.floorRuns, floorOpts, signal);
    // Through the proxy, each floor run is paired with one more exporter scrape, the two one after
    // the other (which goes first alternates), and the ratio is taken per pair: a slowdown of the
    // shared machine that lasts longer than a pair (~4 s at 10,000 VMs) weighs on both sides of it.
    const viaProxyFloor = new Floor(capture, floorOpts);
    const [pairClient, vcsimPid, proxyUrl] = [client, vc.pid, proxy.url];
    const pairs = { exporterMs: [] as number[], floorMs: [] as number[], ratios: [] as number[] };
    let floorVcsim = 0;
    let floorBench = 0;
    const floorRun = async (): Promise<number> => {
      const vcsim0 = cpuSeconds(vcsimPid);
      const bench0 = process.cpuUsage();
      const ms = await viaProxyFloor.run(proxyUrl, signal);
      floorVcsim += cpuSeconds(vcsimPid) - vcsim0;
      const usage = process.cpuUsage(bench0);
      floorBench += (usage.user + usage.system) / 1e6;
      return ms;
    };
    const pairScrape = () => pairClient.scrape({ gzip: opts.gzip === true, signal });
    for (let i = 0; i < opts.floorRuns && viaProxyFloor.requests > 0; i++) {
      let got: TimedScrape;
      let floorMs: number;
      if (i % 2 === 0) {
        got = await pairScrape();
        floorMs = await floorRun();
      } else {
        floorMs = await floorRun();
        got = await pairScrape();
      }
      // Unzipped and checked after the pair: its garbage is not the floor run's.
      const s = unzipped(got);
      const problem = scrapeProblem(s);
      if (problem) problems.push(`paired scrape ${i + 1}: ${problem}`);
      pairs.exporterMs.push(s.wallMs);
      pairs.floorMs.push(floorMs);
      pairs.ratios.push(s.wallMs / floorMs);
    }
    const viaProxy = viaProxyFloor.result();
    const floorSeconds = viaProxy.runsMs.reduce((a, b) => a + b, 0) / 1000;
    const floorRuns = Math.max(1, viaProxy.runsMs.length);
    proxy.drain();
    let govmomi: GovmomiResult | null = null;
    if (opts.govmomi) {
      // Alone on the machine with vcsim, as the exporter was: it shares the same 2 cores.
      await exporter.stop();
      log(`[${tag}] govmomi (Telegraf-style): ${opts.govmomi.collections} collections`);
      govmomi = await runGovmomi(vc.url, vc, opts.govmomi, signal);
      log(
        `[${tag}] govmomi: collection ${govmomi.collect.wallMs.toFixed(0)} ms, ${govmomi.collect.totalCalls} calls; ` +
          `login→logout ${govmomi.cycle.wallMs.toFixed(0)} ms, ${govmomi.cycle.totalCalls} calls`,
      );
    }
    const n = opts.scrapes;
    const wallMedian = median(walls);
    const exporterSecondsPerScrape = cpuTotal / n;
    return {
      size,
      latency: opts.latency,
      splitCores: opts.splitCores === true,
      vcsimArgs,
      vms: vms.length,
      hosts: hosts.length,
      vcsimStartSeconds,
      scrapes: n,
      failedScrapes: problems.length,
      problems,
      wallMs: {
        median: wallMedian,
        p95: percentile(walls, 95),
        min: Math.min(...walls),
        max: Math.max(...walls),
        all: walls,
      },
      cpu: {
        exporterSecondsPerScrape,
        usPerSample: samples > 0 ? (exporterSecondsPerScrape * 1e6) / samples : Number.NaN,
        exporterSecondsEachScrape: cpuEach,
        vcsimSecondsPerScrape: vcsimCpu / n,
        benchSecondsPerScrape: (benchCpu.user + benchCpu.system) / 1e6 / n,
        coresBusy: busyDuring / (walls.reduce((a, b) => a + b, 0) / 1000),
        floor: {
          vcsimSecondsPerRun: floorVcsim / floorRuns,
          benchSecondsPerRun: floorBench / floorRuns,
          coresBusy: floorSeconds > 0 ? (floorVcsim + floorBench) / floorSeconds : Number.NaN,
        },
      },
      rss: {
        peakMiB: peak / MiB,
        peakSinceStartMiB: peakSinceStart / MiB,
        steadyMiB: steady / MiB,
        peakReset,
      },
      soap: {
        requestsPerScrape: perScrape(requests, n),
        requestsEachScrape: scrapeRecords.map(callsByMethod),
        callMs: callTimesByMethod(allRecords),
        peakInFlight: { all: peakAll, QueryPerf: peakQueryPerf },
        responseBytesPerScrape: perScrape(bytes, n),
        totalRequestsPerScrape: Object.values(requests).reduce((a, b) => a + b, 0) / n,
        totalResponseBytesPerScrape: Object.values(bytes).reduce((a, b) => a + b, 0) / n,
        fullInventoryRetrievalsPerScrape: fullInventory / n,
        betweenScrapes: between,
      },
      served: { samples, plainBytes, gzipBytes },
      floor: { ...floor, viaProxyMedianMs: viaProxy.medianMs, pairs },
      // The exporter's calls pass through the counting proxy: its wall is held to the floor sent the
      // same way, scrape and floor run side by side.
      ratioToFloor: pairs.ratios.length > 0 ? median(pairs.ratios) : Number.NaN,
      govmomi,
      ratioToGovmomi: govmomi ? wallMedian / govmomi.collect.wallMs : Number.NaN,
    };
  } finally {
    await client?.close();
    await exporter?.stop();
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (opts.splitCores) unpinSelf();
  }
}
