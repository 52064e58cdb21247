/**
 * One size of the benchmark: vcsim with N VMs, the built exporter behind the counting proxy, warm-up
 * scrapes, measured scrapes (wall, CPU, RSS, SOAP traffic, output size), one gzip scrape, and the
 * floor replayed from the last measured scrape. Everything it starts is stopped before it returns.
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
import { measureFloor, median, type FloorResult } from './floor.js';
import { cpuSeconds, resetPeakRss, statusBytes } from './proc-stats.js';
import { countSamples, percentile, ScrapeClient, scrapeProblem } from './scrape-client.js';

/** How to measure one size. */
export interface MeasureOptions {
  scrapes: number;
  warmup: number;
  floorRuns: number;
  /** Exporter configuration (YAML object); scrape.timeout_seconds is the scrape timeout header. */
  exporterConfig: Record<string, unknown>;
  signal?: AbortSignal;
  log: (line: string) => void;
}

/** Everything measured for one size. */
export interface SizeResult {
  size: number;
  vcsimArgs: string[];
  vms: number;
  hosts: number;
  vcsimStartSeconds: number;
  scrapes: number;
  failedScrapes: number;
  problems: string[];
  wallMs: { median: number; p95: number; min: number; max: number; all: number[] };
  cpu: {
    exporterSecondsPerScrape: number;
    usPerSample: number;
    exporterSecondsEachScrape: number[];
    vcsimSecondsPerScrape: number;
    benchSecondsPerScrape: number;
  };
  rss: { peakMiB: number; peakSinceStartMiB: number; steadyMiB: number; peakReset: boolean };
  soap: {
    requestsPerScrape: Record<string, number>;
    responseBytesPerScrape: Record<string, number>;
    totalRequestsPerScrape: number;
    totalResponseBytesPerScrape: number;
    fullInventoryRetrievalsPerScrape: number;
    /** Requests sent between and right after the measured scrapes (keep-alive, background collection), total. */
    betweenScrapes: Record<string, number>;
  };
  served: { samples: number; plainBytes: number; gzipBytes: number | null };
  floor: FloorResult & { viaProxyMedianMs: number };
  ratioToFloor: number;
}

const MiB = 1024 * 1024;

/** vcsim arguments for `size` VMs: the fixed models for 1,000/5,000/10,000, else ~1,000 VMs per cluster, 50 per host. */
export function vcsimArgsFor(size: number): string[] {
  const fixed: Record<number, [number, number, number]> = {
    1000: [2, 10, 500],
    5000: [5, 20, 1000],
    10000: [10, 20, 1000],
  };
  let model = fixed[size];
  if (!model) {
    const clusters = Math.max(1, Math.ceil(size / 1000));
    if (!Number.isInteger(size / clusters))
      throw new Error(`size ${size}: not divisible into ${clusters} clusters`);
    const vms = size / clusters;
    model = [clusters, Math.max(1, Math.round(vms / 50)), vms];
  }
  const [cluster, host, vm] = model;
  return ['-cluster', String(cluster), '-host', String(host), '-vm', String(vm), '-standalone-host', '0'];
}

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
  const vcsimArgs = vcsimArgsFor(size);
  const dir = mkdtempSync(join(tmpdir(), 'vsx-bench-'));
  let vc: Vcsim | undefined;
  let proxy: CountingProxy | undefined;
  let exporter: ExporterProcess | undefined;
  let client: ScrapeClient | undefined;
  try {
    log(`[${size}] starting vcsim ${vcsimArgs.join(' ')}`);
    const t0 = performance.now();
    vc = await startVcsim({ args: vcsimArgs });
    const vcsimStartSeconds = (performance.now() - t0) / 1000;
    const { vms, hosts } = vc.inventory;
    if (vms.length !== size) throw new Error(`vcsim has ${vms.length} VMs, expected ${size}`);
    log(`[${size}] vcsim: ${vms.length} VMs on ${hosts.length} hosts in ${vcsimStartSeconds.toFixed(1)} s`);
    signal?.throwIfAborted();

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
    });
    const scrapeCfg = opts.exporterConfig.scrape as { timeout_seconds?: number } | undefined;
    client = new ScrapeClient(exporter.baseUrl, scrapeCfg?.timeout_seconds ?? 120);
    const pid = exporter.pid;

    for (let i = 1; i <= opts.warmup; i++) {
      const s = await client.scrape({ signal });
      log(
        `[${size}] warm-up ${i}: ${s.wallMs.toFixed(0)} ms${scrapeProblem(s) ? ` (${scrapeProblem(s)})` : ''}`,
      );
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
    let capture: CapturedRequest[] = [];
    const scrapeRecords: ProxyRecord[][] = [];
    const vcsimCpu0 = cpuSeconds(vc.pid);
    const benchCpu0 = process.cpuUsage();
    const cpu0 = cpuSeconds(pid);
    for (let i = 1; i <= opts.scrapes; i++) {
      const last = i === opts.scrapes;
      count(proxy.drain(), between);
      proxy.setCapture(last);
      const before = cpuSeconds(pid);
      const s = await client.scrape({ signal });
      cpuEach.push(cpuSeconds(pid) - before);
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
        `[${size}] scrape ${i}: ${s.wallMs.toFixed(0)} ms, ${recs.length} SOAP requests${problem ? ` (${problem})` : ''}`,
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

    count(proxy.drain(), between);
    const gz = await client.scrape({ gzip: true, signal });
    const gzipBytes = gz.contentEncoding === 'gzip' ? gz.body.length : null;
    proxy.drain();

    log(
      `[${size}] floor: replaying ${capture.length} requests, ${opts.floorRuns}× direct and ${opts.floorRuns}× via the proxy`,
    );
    const floor = await measureFloor(vc.url, capture, opts.floorRuns, signal);
    const viaProxy = await measureFloor(proxy.url, capture, opts.floorRuns, signal);
    proxy.drain();
    const n = opts.scrapes;
    const wallMedian = median(walls);
    const exporterSecondsPerScrape = cpuTotal / n;
    return {
      size,
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
      },
      rss: {
        peakMiB: peak / MiB,
        peakSinceStartMiB: peakSinceStart / MiB,
        steadyMiB: steady / MiB,
        peakReset,
      },
      soap: {
        requestsPerScrape: perScrape(requests, n),
        responseBytesPerScrape: perScrape(bytes, n),
        totalRequestsPerScrape: Object.values(requests).reduce((a, b) => a + b, 0) / n,
        totalResponseBytesPerScrape: Object.values(bytes).reduce((a, b) => a + b, 0) / n,
        fullInventoryRetrievalsPerScrape: fullInventory / n,
        betweenScrapes: between,
      },
      served: { samples, plainBytes, gzipBytes },
      floor: { ...floor, viaProxyMedianMs: viaProxy.medianMs },
      ratioToFloor: floor.requests > 0 ? wallMedian / floor.medianMs : Number.NaN,
    };
  } finally {
    await client?.close();
    await exporter?.stop();
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
