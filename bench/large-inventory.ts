/**
 * The 50,000-VM target (`npm run bench:large`, issue 13): vcsim 0.24 with BENCH_LARGE_VMS VMs
 * (default 50,000), the built exporter with its DEFAULT configuration, scraped as Prometheus would
 * with the defaults the target names: every BENCH_LARGE_INTERVAL seconds (15) with a timeout of
 * BENCH_LARGE_TIMEOUT seconds (10; sent as X-Prometheus-Scrape-Timeout-Seconds, gzip accepted),
 * for BENCH_LARGE_SECONDS (300). Prints a timeline (t, up, reason, vsphere_vm_info count, RSS, and
 * the age of the answer (vsphere_collection_age_seconds: above 0 when the scrape's own collection was
 * late and it answered the last complete one), the CPU the exporter and vcsim spent since the
 * previous scrape: where the time goes) and a
 * verdict: `vsphere_up 1` with every VM within 150 s of the exporter's start and on every scrape
 * after, peak RSS ≤ 512 MiB. BENCH_LARGE_CPU_PROF=<dir> writes a V8 CPU profile of the exporter
 * there. Loopback only; stops everything it started, also on error and Ctrl-C.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { startExporter, type ExporterProcess } from '../test/harness/exporter.js';
import { startVcsim, type Vcsim } from '../test/harness/vcsim.js';
import { cpuSeconds, statusBytes } from './proc-stats.js';
import { vcsimArgsFor } from './profiles.js';
import { largeScrape, type LargeScrape } from './large-scrape.js';

const MiB = 1024 * 1024;
const READY_WITHIN_S = 150;
const MAX_RSS_MIB = 512;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a number > 0, got ${JSON.stringify(raw)}`);
  return n;
}

/** One row of the timeline. */
interface Row {
  t: number;
  s: LargeScrape;
  rssMiB: number;
  peakMiB: number;
  exporterCpu: number;
  vcsimCpu: number;
}

const pad = (v: string | number, n: number): string => String(v).padStart(n);

function printRow(r: Row, previous: Map<string, number>): void {
  const calls = [...r.s.calls]
    .map(([m, n]) => [m, n - (previous.get(m) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
  const slow = [...r.s.collectors]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([c, sec]) => `${c} ${sec.toFixed(1)} s`)
    .join(', ');
  console.log(
    `${pad(r.t.toFixed(0), 5)} ${pad(Number.isNaN(r.s.up) ? '-' : r.s.up, 3)} ${pad(r.s.vmInfo, 7)} ` +
      `${pad(r.rssMiB.toFixed(0), 6)} ${pad(r.peakMiB.toFixed(0), 6)} ${pad((r.s.wallMs / 1000).toFixed(1), 6)} ${pad(Number.isNaN(r.s.ageSeconds) ? '-' : r.s.ageSeconds.toFixed(1), 6)} ` +
      `${pad(r.exporterCpu.toFixed(1), 6)} ${pad(r.vcsimCpu.toFixed(1), 6)}  ` +
      `${r.s.reason || 'ok'}${r.s.up === 1 && r.s.failed.length > 0 ? ` (failed: ${r.s.failed.join(', ')})` : ''}` +
      `${calls ? ` | calls: ${calls}` : ''}${slow ? ` | slowest: ${slow}` : ''}`,
  );
}

async function main(signal: AbortSignal): Promise<boolean> {
  const vms = envNumber('BENCH_LARGE_VMS', 50_000);
  const interval = envNumber('BENCH_LARGE_INTERVAL', 15);
  const timeout = envNumber('BENCH_LARGE_TIMEOUT', 10);
  const seconds = envNumber('BENCH_LARGE_SECONDS', 300);
  const gzip = process.env.BENCH_LARGE_GZIP !== '0';
  const dir = mkdtempSync(join(tmpdir(), 'vsx-large-'));
  let vc: Vcsim | undefined;
  let exporter: ExporterProcess | undefined;
  let client: Client | undefined;
  try {
    const args = vcsimArgsFor(vms);
    console.error(`starting vcsim ${args.join(' ')} (a large model takes minutes)`);
    const v0 = performance.now();
    vc = await startVcsim({ args, startTimeoutMs: 900_000 });
    console.error(
      `vcsim: ${vc.inventory.vms.length} VMs on ${vc.inventory.hosts.length} hosts in ${((performance.now() - v0) / 1000).toFixed(0)} s`,
    );
    signal.throwIfAborted();
    const pw = join(dir, 'password');
    writeFileSync(pw, `${vc.password}\n`, { mode: 0o600 });
    const t0 = performance.now();
    // The default configuration: no config file, only the connection.
    const prof = process.env.BENCH_LARGE_CPU_PROF;
    exporter = await startExporter({
      env: {
        VSPHERE_URL: vc.url,
        VSPHERE_USER: vc.user,
        VSPHERE_PASSWORD_FILE: pw,
      },
      // Where the time goes: V8's sampling profile of the exporter, written when it exits.
      ...(prof ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`] } : {}),
    });
    const pid = exporter.pid;
    client = new Client(exporter.baseUrl, { headersTimeout: 0, bodyTimeout: 0 });
    console.log(
      `${vms} VMs, default config, scraped every ${interval} s with a ${timeout} s timeout${gzip ? ', gzip' : ''}\n` +
        `    t  up vm_info rssMiB peakMiB wall_s  age_s expCPU vcsCPU  reason | SOAP calls since the previous scrape | slowest collectors`,
    );
    const rows: Row[] = [];
    let calls = new Map<string, number>();
    let cpuE = cpuSeconds(pid);
    let cpuV = cpuSeconds(vc.pid);
    for (let k = 0; ; k++) {
      const at = t0 + k * interval * 1000;
      if ((at - t0) / 1000 > seconds) break;
      await sleep(Math.max(0, at - performance.now()), undefined, { signal });
      const t = (performance.now() - t0) / 1000;
      const s = await largeScrape(client, timeout, gzip);
      const e = cpuSeconds(pid);
      const v = cpuSeconds(vc.pid);
      const row: Row = {
        t,
        s,
        rssMiB: statusBytes(pid, 'VmRSS') / MiB,
        peakMiB: statusBytes(pid, 'VmHWM') / MiB,
        exporterCpu: e - cpuE,
        vcsimCpu: v - cpuV,
      };
      [cpuE, cpuV] = [e, v];
      printRow(row, calls);
      if (s.calls.size > 0) calls = s.calls;
      rows.push(row);
    }
    const all = vc.inventory.vms.length;
    const good = (r: Row): boolean => r.s.up === 1 && r.s.vmInfo === all;
    const first = rows.findIndex(good);
    const after = first < 0 ? [] : rows.slice(first);
    const peak = Math.max(...rows.map((r) => r.peakMiB));
    const ok =
      first >= 0 && rows[first]!.t + rows[first]!.s.wallMs / 1000 <= READY_WITHIN_S && after.every(good);
    console.log(
      `first complete scrape: ${first < 0 ? 'none' : `started at ${rows[first]!.t.toFixed(0)} s, ${rows[first]!.s.wallMs.toFixed(0)} ms`}; ` +
        `complete after it: ${after.filter(good).length} of ${after.length} ` +
        `(every collector succeeded in ${after.filter((r) => good(r) && r.s.failed.length === 0).length}); ` +
        `peak RSS ${peak.toFixed(0)} MiB`,
    );
    console.log(
      `target (up 1 with all ${all} VMs within ${READY_WITHIN_S} s and on every scrape after; peak RSS <= ${MAX_RSS_MIB} MiB): ` +
        `${ok && peak <= MAX_RSS_MIB ? 'MET' : 'NOT MET'}`,
    );
    return ok && peak <= MAX_RSS_MIB;
  } finally {
    await client?.close().catch(() => client?.destroy());
    await exporter?.stop();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted'));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode = (await main(controller.signal)) ? 0 : 1;
  } catch (err) {
    console.error(`bench:large: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
