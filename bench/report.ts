/**
 * The benchmark's output: machine description, the table printed per size, the issue's targets
 * checked against the figures, and the growth of wall time per VM from the smallest to the largest size.
 */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import type { SizeResult } from './measure.js';

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

/** The issue's targets; `check` tells whether one size meets each. */
export const TARGETS = {
  ratioToFloor: 1.2,
  usPerSample: 10,
  peakRssMiB: 200,
  fullInventoryRetrievalsPerScrape: 0,
  backgroundP50Ms: 50,
  linearGrowth: 1.2,
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
  };
}

const COLUMNS = [
  'VMs',
  'hosts',
  'wall p50 ms',
  'wall p95 ms',
  'floor ms',
  'ratio',
  'CPU s/scrape',
  'CPU µs/sample',
  'peak RSS MiB',
  'steady RSS MiB',
  'SOAP req/scrape',
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
    r.wallMs.median.toFixed(0),
    r.wallMs.p95.toFixed(0),
    r.floor.medianMs.toFixed(0),
    r.ratioToFloor.toFixed(2),
    r.cpu.exporterSecondsPerScrape.toFixed(2),
    r.cpu.usPerSample.toFixed(1),
    r.rss.peakMiB.toFixed(0),
    r.rss.steadyMiB.toFixed(0),
    r.soap.totalRequestsPerScrape.toFixed(0),
    mib(r.soap.totalResponseBytesPerScrape),
    r.soap.fullInventoryRetrievalsPerScrape.toFixed(0),
    String(r.served.samples),
    mib(r.served.plainBytes),
    r.served.gzipBytes === null ? '-' : mib(r.served.gzipBytes),
  ];
}

/** The printed report: one table row per size, then per-size SOAP methods, growth and targets. */
export function formatReport(sizes: readonly SizeResult[], growth: LinearGrowth | null): string {
  const rows = [[...COLUMNS], ...sizes.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  const out = [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  for (const r of rows.slice(1)) out.push(line(r));
  out.push('');
  for (const r of sizes) {
    const methods = Object.entries(r.soap.requestsPerScrape)
      .map(([m, n]) => `${m} ${Number.isInteger(n) ? n : n.toFixed(1)}`)
      .join(', ');
    out.push(`${r.size}: SOAP per scrape: ${methods}`);
    out.push(
      `${r.size}: floor ${r.floor.requests} requests, runs ${r.floor.runsMs.map((m) => m.toFixed(0)).join('/')} ms` +
        `, through the proxy ${r.floor.viaProxyMedianMs.toFixed(0)} ms` +
        (Object.keys(r.floor.skipped).length ? `, skipped ${JSON.stringify(r.floor.skipped)}` : '') +
        (r.floor.statusMismatches ? `, ${r.floor.statusMismatches} STATUS MISMATCHES` : ''),
    );
    if (r.failedScrapes) out.push(`${r.size}: ${r.failedScrapes} FAILED SCRAPES: ${r.problems.join('; ')}`);
    const t = checkTargets(r);
    out.push(
      `${r.size}: targets: ${Object.entries(t)
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
