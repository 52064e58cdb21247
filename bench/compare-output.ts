/**
 * Two builds of the exporter on one vcsim (`npm run build` first; the other build is a copy of an
 * older dist/ inside the repository, so its imports resolve): their /metrics must be the same
 * lines once sorted, apart from families that measure the exporter itself (timings, process and
 * SOAP call counters); a replay proxy gives both the same answer to the same QueryPerf. Scrapes alternate between the two, so the CPU per scrape of each (user + sys
 * from /proc) is compared in the same minute. Loopback only; everything it starts is stopped.
 *
 *   COMPARE_OLD=.cache/old/dist/main.js COMPARE_SIZE=2000 COMPARE_SCRAPES=5 \
 *     node --import tsx bench/compare-output.ts
 *
 * COMPARE_NEW defaults to dist/main.js; COMPARE_NEW_NODE_OPTIONS is passed to the new build only
 * (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). Exit status 1 when the bodies differ.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { exporterEntry, startExporter, type ExporterProcess } from '../test/harness/exporter.js';
import { startVcsim, type Vcsim } from '../test/harness/vcsim.js';
import { cpuSeconds, statusBytes } from './proc-stats.js';
import { startReplayProxy, type ReplayProxy } from './replay-proxy.js';
import { vcsimArgsFor } from './profiles.js';
import { countSamples, ScrapeClient, unzipped } from './scrape-client.js';

// Families whose values measure the exporter's own run (wall times, its process, its SOAP calls
// and their durations), not vCenter: they differ between any two runs.
const VOLATILE = [
  /^vsphere_scrape_duration_seconds\b/,
  /^vsphere_collector_duration_seconds\b/,
  /^vsphere_soap_/,
  /^vsphere_rest_/,
  /^vsphere_exporter_config_last_reload_success_timestamp_seconds\b/,
  /^vsphere_collection_age_seconds\b/,
  /^process_/,
  /^nodejs_/,
];

/** The body's sample lines (no comments), volatile families left out, sorted. */
export function comparable(body: string): string[] {
  return body
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !VOLATILE.some((re) => re.test(l)))
    .sort();
}

/** Lines only in `a` and only in `b` (multisets), at most `max` of each. */
export function difference(a: string[], b: string[], max = 10): { onlyA: string[]; onlyB: string[] } {
  const count = new Map<string, number>();
  for (const l of a) count.set(l, (count.get(l) ?? 0) + 1);
  for (const l of b) count.set(l, (count.get(l) ?? 0) - 1);
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  for (const [l, n] of count) {
    if (n > 0 && onlyA.length < max) onlyA.push(l);
    if (n < 0 && onlyB.length < max) onlyB.push(l);
  }
  return { onlyA, onlyB };
}

interface Side {
  name: string;
  exporter: ExporterProcess;
  client: ScrapeClient;
  cpu: number[];
  samples: number;
}

async function main(): Promise<void> {
  const oldEntry = process.env.COMPARE_OLD;
  if (!oldEntry) throw new Error('COMPARE_OLD must name the other build (e.g. .cache/old/dist/main.js)');
  const size = Number(process.env.COMPARE_SIZE ?? 2000);
  const scrapes = Number(process.env.COMPARE_SCRAPES ?? 5);
  const dir = mkdtempSync(join(tmpdir(), 'vsx-compare-'));
  let vc: Vcsim | undefined;
  let proxy: ReplayProxy | undefined;
  const sides: Side[] = [];
  let differ = false;
  try {
    vc = await startVcsim({ args: vcsimArgsFor(size) });
    console.error(`vcsim: ${vc.inventory.vms.length} VMs on ${vc.inventory.hosts.length} hosts`);
    // vcsim makes up perf values per call: both builds get the first answer to each QueryPerf.
    proxy = await startReplayProxy(vc.url);
    const pw = join(dir, 'password');
    writeFileSync(pw, `${vc.password}\n`, { mode: 0o600 });
    const configFile = join(dir, 'exporter.yml');
    // As the benchmark: vcsim 0.24 answers the whole inventory in one page.
    writeFileSync(
      configFile,
      stringify({
        scrape: { timeout_seconds: 120 },
        vsphere: { max_response_bytes: 256 * 1024 * 1024 },
      }),
    );
    const entries: [string, string, string | undefined][] = [
      ['old', resolve(oldEntry), undefined],
      ['new', resolve(process.env.COMPARE_NEW ?? exporterEntry), process.env.COMPARE_NEW_NODE_OPTIONS],
    ];
    for (const [name, entry, nodeOptions] of entries) {
      const exporter = await startExporter({
        entry,
        env: {
          VSPHERE_URL: proxy.url,
          VSPHERE_USER: vc.user,
          VSPHERE_PASSWORD_FILE: pw,
          ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
        },
        args: ['--config.file', configFile],
      });
      sides.push({ name, exporter, client: new ScrapeClient(exporter.baseUrl, 120), cpu: [], samples: 0 });
    }
    // Warm-up: first inventory read, counter catalogue, JIT.
    for (let i = 0; i < 2; i++) for (const s of sides) await s.client.scrape();
    for (let i = 0; i < scrapes; i++) {
      const bodies: string[] = [];
      for (const s of sides) {
        const gzip = i === scrapes - 1;
        const before = cpuSeconds(s.exporter.pid);
        const r = await s.client.scrape({ gzip });
        s.cpu.push(cpuSeconds(s.exporter.pid) - before);
        const { body } = unzipped(r);
        if (r.status !== 200) throw new Error(`${s.name}: HTTP ${r.status}`);
        s.samples = countSamples(body);
        bodies.push(body.toString('utf8'));
      }
      const [a, b] = bodies.map(comparable) as [string[], string[]];
      const d = difference(a, b);
      const same = d.onlyA.length === 0 && d.onlyB.length === 0;
      console.error(
        `scrape ${i + 1}${i === scrapes - 1 ? ' (gzip)' : ''}: ${a.length} lines, ${same ? 'same' : 'DIFFERENT'}`,
      );
      if (!same) {
        differ = true;
        for (const l of d.onlyA) console.error(`  old only: ${l}`);
        for (const l of d.onlyB) console.error(`  new only: ${l}`);
      }
    }
    for (const s of sides) {
      const total = s.cpu.reduce((x, y) => x + y, 0);
      const perScrape = total / s.cpu.length;
      console.log(
        `${s.name}: ${s.samples} samples, CPU ${(perScrape * 1000).toFixed(0)} ms/scrape ` +
          `(${s.cpu.map((c) => (c * 1000).toFixed(0)).join(' ')}), ` +
          `${((perScrape * 1e6) / s.samples).toFixed(2)} µs/sample, ` +
          `peak RSS ${(statusBytes(s.exporter.pid, 'VmHWM') / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    console.log(`QueryPerf: ${proxy.stats.forwarded} sent to vcsim, ${proxy.stats.replayed} replayed`);
    const mib = [...proxy.bytes].map(([m, b]) => `${m} ${(b / 2 ** 20).toFixed(1)}`).join(', ');
    console.log(`answer MiB by method, both builds, warm-up included: ${mib}`);
    console.log(differ ? 'output DIFFERS' : 'output identical (volatile families left out)');
  } finally {
    for (const s of sides) {
      await s.client.close();
      await s.exporter.stop();
    }
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (differ) process.exitCode = 1;
}

await main();
