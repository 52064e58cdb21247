/**
 * Soak run (`npm run soak`): the built exporter against vcsim under `ulimit -n 128`, scraped
 * sequentially SOAK_SCRAPES times (default 100,000). Prints fds, RSS, active handles and vCenter
 * sessions at checkpoints, then the figures the reliability guarantees are judged by:
 * fd drift (±2), RSS growth from scrape 10,000 (or 10 %) to the end (< 10 MiB), handle drift (±2),
 * sessions (always 1). Exits 1 when a figure is out of bounds. Loopback only; stops by itself.
 * SOAK_EXPORTER_CONFIG (YAML) is the exporter's config file, e.g. `vsphere: {inventory: full}`;
 * with the default incremental inventory every scrape waits for vcsim's 250 ms update tick.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter } from '../test/harness/exporter.js';
import { listSessions, startVcsim } from '../test/harness/vcsim.js';
import { find, parsePrometheusText } from '../test/harness/prom-text.js';

const total = Number(process.env.SOAK_SCRAPES ?? 100_000);
const from = Math.min(10_000, Math.floor(total / 10));
const checkpoints = 10;
const MiB = 1024 * 1024;

interface Row {
  scrape: number;
  seconds: number;
  fds: number;
  rssMiB: number;
  handles: number;
  sessions: number;
  up: number;
}

const dir = mkdtempSync(join(tmpdir(), 'vsx-soak-'));
const vc = await startVcsim();
const pw = join(dir, 'password');
writeFileSync(pw, `${vc.password}\n`, { mode: 0o600 });
const configFile = join(dir, 'exporter.yml');
writeFileSync(configFile, process.env.SOAK_EXPORTER_CONFIG ?? '{}\n');
const exporter = await startExporter({
  env: { VSPHERE_URL: vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
  args: ['--config.file', configFile],
  ulimitNofile: 128,
});
const rows: Row[] = [];
const started = Date.now();
let failures = 0;
try {
  const sample = async (i: number, text: string): Promise<Row> => {
    const samples = parsePrometheusText(text).samples;
    const sessions = (await listSessions(vc)).filter((s) => s.userName === vc.user).length;
    return {
      scrape: i,
      seconds: (Date.now() - started) / 1000,
      fds: exporter.openFds(),
      rssMiB: exporter.rssBytes() / MiB,
      handles: find(samples, 'nodejs_active_handles_total')[0]?.value ?? Number.NaN,
      sessions,
      up: find(samples, 'vsphere_up')[0]?.value ?? Number.NaN,
    };
  };
  const marks = new Set([
    20,
    from,
    ...Array.from({ length: checkpoints }, (_, k) => Math.round(((k + 1) * total) / checkpoints)),
  ]);
  console.log('scrape\tseconds\tfds\trss_MiB\thandles\tsessions\tvsphere_up');
  for (let i = 1; i <= total; i++) {
    const r = await exporter.scrape();
    if (r.status !== 200 || !r.text.includes('\nvsphere_up 1\n')) failures++;
    if (marks.has(i)) {
      const row = await sample(i, r.text);
      rows.push(row);
      console.log(
        `${row.scrape}\t${row.seconds.toFixed(0)}\t${row.fds}\t${row.rssMiB.toFixed(1)}\t${row.handles}\t${row.sessions}\t${row.up}`,
      );
    }
  }
} finally {
  await exporter.stop();
  await vc.stop();
  rmSync(dir, { recursive: true, force: true });
}

const warm = rows.find((r) => r.scrape === 20)!;
const base = rows.find((r) => r.scrape === from)!;
const end = rows[rows.length - 1]!;
const result = {
  date: new Date().toISOString(),
  scrapes: total,
  failedScrapes: failures,
  wallSeconds: (Date.now() - started) / 1000,
  msPerScrape: (Date.now() - started) / total,
  fdAfterWarmup: warm.fds,
  fdEnd: end.fds,
  fdDrift: end.fds - warm.fds,
  rssMiBAtBase: base.rssMiB,
  rssMiBEnd: end.rssMiB,
  rssGrowthMiB: end.rssMiB - base.rssMiB,
  rssBaseScrape: from,
  handlesAfterWarmup: warm.handles,
  handlesEnd: end.handles,
  handleDrift: end.handles - warm.handles,
  maxSessions: Math.max(...rows.map((r) => r.sessions)),
  minSessions: Math.min(...rows.map((r) => r.sessions)),
  checkpoints: rows,
};
console.log(JSON.stringify({ ...result, checkpoints: undefined }, null, 2));
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(
  join(import.meta.dirname, 'results', `soak-${result.date.slice(0, 10)}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
);
const ok =
  failures === 0 &&
  Math.abs(result.fdDrift) <= 2 &&
  result.rssGrowthMiB < 10 &&
  Math.abs(result.handleDrift) <= 2 &&
  result.maxSessions === 1 &&
  result.minSessions === 1;
console.log(ok ? 'soak: all figures within bounds' : 'soak: FIGURES OUT OF BOUNDS');
process.exitCode = ok ? 0 : 1;
