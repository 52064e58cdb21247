/**
 * The benchmark's output: machine description, the table printed per size and latency, the SOAP
 * calls per scrape by method beside the floor's, the issues' targets checked against the figures,
 * and the growth of wall time per VM from the smallest to the largest size.
 */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import type { SizeResult } from './measure.js';
import { latencyLabel } from './profiles.js';

/** Where the figures were taken. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  kernel: string;
  memoryMiB: number;
  commit: string;
  /** Uncommitted changes under src/ when the run started (figures may not match the commit). */
  srcDirty: boolean | null;
}

/** Wall time per VM at the largest size divided by that at the smallest (target ≤ 1.2). */
export interface LinearGrowth {
  from: number;
  to: number;
  value: number;
}

/** The issues' targets (4 and 13); `checkTargets` tells whether one run meets each. */
export const TARGETS = {
  ratioToFloor: 1.2,
  usPerSample: 5,
  peakRssMiB: 200,
  fullInventoryRetrievalsPerScrape: 0,
  /** Issue 13, 10,000 VMs at 100 ms per call: a steady-state scrape sends at most this many calls… */
  callsPerScrape: 60,
  /** …and no method but these. */
  scrapeMethods: ['QueryPerf', 'WaitForUpdatesEx'],
  backgroundP50Ms: 50,
  linearGrowth: 1.2,
  /** Issue 13, 10,000 VMs at 100 ms per call: exporter wall ≤ this × govmomi's (Telegraf-style) collection. */
  ratioToGovmomi: 0.5,
} as const;

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** CPU model, cores, Node version, kernel, memory and the git commit of this checkout. */
export function machineInfo(): MachineInfo {
  const dirty = git(['status', '--porcelain', '--', 'src']);
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    kernel: release(),
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    commit: git(['rev-parse', '--short', 'HEAD']) ?? 'unknown',
    srcDirty: dirty === null ? null : dirty !== '',
  };
}

/** Growth of wall time per VM from the smallest to the largest size, or null with fewer than two sizes. */
export function linearGrowth(sizes: readonly SizeResult[]): LinearGrowth | null {
  if (sizes.length < 2) return null;
  const sorted = [...sizes].sort((a, b) => a.size - b.size);
  const small = sorted[0]!;
  const large = sorted[sorted.length - 1]!;
  if (small.size === large.size) return null;
  return {
    from: small.size,
    to: large.size,
    value: large.wallMs.median / large.size / (small.wallMs.median / small.size),
  };
}

/** Which on-scrape targets one size meets. */
export function checkTargets(r: SizeResult): Record<string, boolean> {
  return {
    ratioToFloor: r.ratioToFloor <= TARGETS.ratioToFloor,
    usPerSample: r.cpu.usPerSample <= TARGETS.usPerSample,
    peakRssMiB: r.rss.peakMiB <= TARGETS.peakRssMiB,
    fullInventoryRetrievalsPerScrape:
      r.soap.fullInventoryRetrievalsPerScrape <= TARGETS.fullInventoryRetrievalsPerScrape,
    callsPerScrape: r.soap.totalRequestsPerScrape <= TARGETS.callsPerScrape,
    scrapeMethods: Object.keys(r.soap.requestsPerScrape).every((m) =>
      (TARGETS.scrapeMethods as readonly string[]).includes(m),
    ),
    ...(r.govmomi ? { ratioToGovmomi: r.ratioToGovmomi <= TARGETS.ratioToGovmomi } : {}),
  };
}

const COLUMNS = [
  'VMs',
  'hosts',
  'latency ms',
  'wall p50 ms',
  'wall p95 ms',
  'floor ms',
  'floor direct ms',
  'ratio',
  'calls/scrape',
  'floor calls',
  'CPU s/scrape',
  'CPU µs/sample',
  'peak RSS MiB',
  'steady RSS MiB',
  'SOAP MiB/scrape',
  'full inv/scrape',
  'samples',
  'body MiB',
  'gzip MiB',
] as const;

function row(r: SizeResult): string[] {
  const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
  return [
    String(r.vms),
    String(r.hosts),
    latencyLabel(r.latency),
    r.wallMs.median.toFixed(0),
    r.wallMs.p95.toFixed(0),
    r.floor.viaProxyMedianMs.toFixed(0),
    r.floor.medianMs.toFixed(0),
    r.ratioToFloor.toFixed(2),
    count(r.soap.totalRequestsPerScrape),
    String(r.floor.requests),
    r.cpu.exporterSecondsPerScrape.toFixed(2),
    r.cpu.usPerSample.toFixed(1),
    r.rss.peakMiB.toFixed(0),
    r.rss.steadyMiB.toFixed(0),
    mib(r.soap.totalResponseBytesPerScrape),
    r.soap.fullInventoryRetrievalsPerScrape.toFixed(0),
    String(r.served.samples),
    mib(r.served.plainBytes),
    r.served.gzipBytes === null ? '-' : mib(r.served.gzipBytes),
  ];
}

function count(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Rows of cells as a Markdown table, right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)];
}

/** Calls per steady-state scrape by method, one row per run; WaitForUpdatesEx and QueryPerf first. */
function methodTable(sizes: readonly SizeResult[]): string[] {
  const first = ['WaitForUpdatesEx', 'QueryPerf'];
  const seen = new Set(sizes.flatMap((r) => Object.keys(r.soap.requestsPerScrape)));
  const methods = [...first, ...[...seen].filter((m) => !first.includes(m)).sort()];
  return table([
    ['VMs', 'latency ms', ...methods, 'total', 'floor: WaitForUpdatesEx + QueryPerf'],
    ...sizes.map((r) => [
      String(r.vms),
      latencyLabel(r.latency),
      ...methods.map((m) => {
        const n = r.soap.requestsPerScrape[m] ?? 0;
        return n === 0 ? '-' : count(n);
      }),
      count(r.soap.totalRequestsPerScrape),
      `${r.floor.waitForUpdates} + ${r.floor.queryPerfBatches}`,
    ]),
  ]);
}

/** Calls by method, most first, as `QueryPerf 40, GetCurrentTime 3`. */
function callList(calls: Record<string, number>): string {
  return Object.entries(calls)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
}

/**
 * CPU spent while the scrapes and the floor ran, per scrape or floor run, and the cores it kept
 * busy: at 0 ms a floor that already keeps the machine's cores busy leaves the exporter's own CPU
 * no idle core to hide in, so its wall grows with that CPU.
 */
function cpuTable(sizes: readonly SizeResult[]): string[] {
  const s = (x: number) => x.toFixed(2);
  return table([
    [
      'VMs',
      'latency ms',
      'exporter s',
      'vcsim s',
      'bench s',
      'cores busy',
      'floor: vcsim s',
      'floor: bench s',
      'floor cores busy',
    ],
    ...sizes.map((r) => [
      String(r.vms),
      latencyLabel(r.latency),
      s(r.cpu.exporterSecondsPerScrape),
      s(r.cpu.vcsimSecondsPerScrape),
      s(r.cpu.benchSecondsPerScrape),
      s(r.cpu.coresBusy),
      s(r.cpu.floor.vcsimSecondsPerRun),
      s(r.cpu.floor.benchSecondsPerRun),
      s(r.cpu.floor.coresBusy),
    ]),
  ]);
}

/** The govmomi comparison beside the exporter and the floor, one row per run that has it. */
function govmomiTable(sizes: readonly SizeResult[]): string[] {
  const runs = sizes.filter((r) => r.govmomi);
  if (runs.length === 0) return [];
  const rows = runs.map((r) => {
    const g = r.govmomi!;
    return [
      String(r.vms),
      latencyLabel(r.latency),
      r.wallMs.median.toFixed(0),
      r.floor.medianMs.toFixed(0),
      g.collect.wallMs.toFixed(0),
      r.ratioToGovmomi.toFixed(2),
      g.cycle.wallMs.toFixed(0),
      count(r.soap.totalRequestsPerScrape),
      String(g.collect.totalCalls),
      String(g.cycle.totalCalls),
      r.cpu.usPerSample.toFixed(1),
      g.collect.usPerSample.toFixed(1),
      String(g.collect.samples),
      g.peakRssMiB.toFixed(0),
    ];
  });
  const out = [
    'govmomi (Telegraf-style collection, bench/govmomi/) beside the exporter and the floor:',
    ...table([
      [
        'VMs',
        'latency ms',
        'exporter ms',
        'floor ms',
        'govmomi collect ms',
        'exporter/govmomi',
        'govmomi login→logout ms',
        'exporter calls',
        'govmomi calls',
        'login→logout calls',
        'exporter µs/sample',
        'govmomi µs/sample',
        'govmomi samples',
        'govmomi RSS MiB',
      ],
      ...rows,
    ]),
  ];
  for (const r of runs) {
    const g = r.govmomi!;
    out.push(
      `${r.size} @ ${latencyLabel(r.latency)} ms: govmomi collection ${callList(g.collect.calls)}` +
        ` (${g.collect.peakInFlight} in flight at most, collections ${g.collect.wallEachMs.map((m) => m.toFixed(0)).join('/')} ms);` +
        ` login→logout ${callList(g.cycle.calls)}; ${g.objects} objects, ${g.metricsPerObject} metric ids each at most`,
    );
  }
  return [...out, ''];
}

/** The printed report: one table row per run, the calls by method, then per run the floor, problems and targets. */
export function formatReport(sizes: readonly SizeResult[], growth: LinearGrowth | null): string {
  const out = table([[...COLUMNS], ...sizes.map(row)]);
  out.push('', 'SOAP calls per steady-state scrape, by method:', ...methodTable(sizes), '');
  out.push(
    `CPU per scrape and per floor run (via the proxy), and cores kept busy meanwhile (${cpus().length} on this machine):`,
    ...cpuTable(sizes),
    '',
  );
  out.push(...govmomiTable(sizes));
  for (const r of sizes) {
    const id = `${r.size} @ ${latencyLabel(r.latency)} ms`;
    const f = r.floor;
    if (r.splitCores)
      out.push(`${id}: cores split: vcsim on CPU 0, the exporter and the bench (floor included) on CPU 1`);
    const times = Object.entries(r.soap.callMs)
      .map(([m, t]) => `${m} ${t.medianMs.toFixed(0)}`)
      .join(', ');
    out.push(
      `${id}: call time p50 ms: ${times}; in flight at most ${r.soap.peakInFlight.all} (QueryPerf ${r.soap.peakInFlight.QueryPerf})`,
    );
    out.push(
      `${id}: floor ${f.waitForUpdates} WaitForUpdatesEx + ${f.queryPerfBatches} QueryPerf (from ${f.capturedQueryPerf}: ` +
        `${f.realtimeObjects} realtime objects at ${f.batching.objectsPerCall} per call, ${f.historicalObjects} historical) ` +
        `over ${f.concurrency} connections, direct runs ${f.runsMs.map((m) => m.toFixed(0)).join('/')} ms` +
        `, through the proxy ${f.viaProxyMedianMs.toFixed(0)} ms` +
        (f.pairs.ratios.length
          ? `, paired with scrapes ${f.pairs.exporterMs.map((m) => m.toFixed(0)).join('/')} ms` +
            ` (ratios ${f.pairs.ratios.map((x) => x.toFixed(2)).join('/')})`
          : '') +
        (Object.keys(f.leftOut).length ? `, left out ${JSON.stringify(f.leftOut)}` : '') +
        (f.statusMismatches ? `, ${f.statusMismatches} STATUS MISMATCHES` : ''),
    );
    if (r.failedScrapes) out.push(`${id}: ${r.failedScrapes} FAILED SCRAPES: ${r.problems.join('; ')}`);
    const t = checkTargets(r);
    out.push(
      `${id}: targets: ${Object.entries(t)
        .map(([k, ok]) => `${k} ${ok ? 'met' : 'MISSED'}`)
        .join(', ')}`,
    );
  }
  if (growth) {
    out.push(
      `wall time per VM at ${growth.to} / at ${growth.from}: ${growth.value.toFixed(2)} (target ≤ ${TARGETS.linearGrowth})`,
    );
  }
  return out.join('\n');
}
