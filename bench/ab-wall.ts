/**
 * Two builds of the exporter on one vcsim, scraped one after the other in alternating order (gzip,
 * as Prometheus asks), each behind its own counting proxy: the median wall time and CPU per scrape
 * of each, measured in the same minutes, so a change's effect on wall time is seen through the
 * drift of a shared machine. Loopback only; everything it starts is stopped.
 *
 *   AB_OLD=.cache/old/dist/main.js AB_SIZE=10000 AB_ROUNDS=10 node --import tsx bench/ab-wall.ts
 *
 * AB_LATENCY_MS adds vcsim's delay to every SOAP call (as `npm run bench` does). AB_NEW defaults
 * to dist/main.js; AB_NEW_NODE_ARGS (space-separated) go to the new build only
 * (e.g. `--heap-growing-percent=50`). The first two rounds are warm-up. The old build is a copy of
 * an older dist/ inside the repository (with package.json beside it), so its imports resolve.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startExporter, type ExporterProcess } from '../test/harness/exporter.js';
import { startVcsim } from '../test/harness/vcsim.js';
import { startCountingProxy, type CountingProxy } from './counting-proxy.js';
import { median } from './call-stats.js';
import { cpuSeconds, statusBytes } from './proc-stats.js';
import { latencyArgs, vcsimArgsFor } from './profiles.js';
import { ScrapeClient } from './scrape-client.js';

const WARMUP_ROUNDS = 2;
const size = Number(process.env.AB_SIZE ?? 10_000);
const rounds = Number(process.env.AB_ROUNDS ?? 10);
if (!process.env.AB_OLD) throw new Error('AB_OLD must name the old build (e.g. .cache/old/dist/main.js)');
const builds = { old: resolve(process.env.AB_OLD), new: resolve(process.env.AB_NEW ?? 'dist/main.js') };
const newArgs = (process.env.AB_NEW_NODE_ARGS ?? '').split(' ').filter(Boolean);

const latencyMs = Number(process.env.AB_LATENCY_MS ?? 0);
const vc = await startVcsim({
  args: [...vcsimArgsFor(size), ...latencyArgs({ ms: latencyMs, jitter: 0 })],
  startTimeoutMs: 600_000,
});
const dir = mkdtempSync(join(tmpdir(), 'vsx-ab-'));
const proxies: CountingProxy[] = [];
const exporters = new Map<'old' | 'new', { exporter: ExporterProcess; client: ScrapeClient }>();
try {
  writeFileSync(join(dir, 'password'), `${vc.password}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'exporter.yml'), 'scrape:\n  timeout_seconds: 120\n');
  for (const which of ['old', 'new'] as const) {
    const proxy = await startCountingProxy(vc.url);
    proxies.push(proxy);
    const exporter = await startExporter({
      entry: builds[which],
      env: { VSPHERE_URL: proxy.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: join(dir, 'password') },
      args: ['--config.file', join(dir, 'exporter.yml')],
      nodeArgs: which === 'new' ? newArgs : [],
    });
    exporters.set(which, { exporter, client: new ScrapeClient(exporter.baseUrl, 120) });
  }
  const walls = { old: [] as number[], new: [] as number[] };
  const cpus = { old: [] as number[], new: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    for (const which of i % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const)) {
      const { exporter, client } = exporters.get(which)!;
      const before = cpuSeconds(exporter.pid);
      const s = await client.scrape({ gzip: true });
      if (s.status !== 200) throw new Error(`${which}: HTTP ${s.status}`);
      if (i < WARMUP_ROUNDS) continue;
      walls[which].push(s.wallMs);
      cpus[which].push(cpuSeconds(exporter.pid) - before);
    }
  }
  for (const which of ['old', 'new'] as const) {
    const pid = exporters.get(which)!.exporter.pid;
    console.log(
      `${which}: wall p50 ${median(walls[which]).toFixed(0)} ms (${walls[which].map((w) => w.toFixed(0)).join(' ')}), ` +
        `CPU p50 ${median(cpus[which]).toFixed(2)} s, peak RSS since start ${(statusBytes(pid, 'VmHWM') / 1048576).toFixed(0)} MiB`,
    );
  }
} finally {
  for (const { exporter, client } of exporters.values()) {
    await client.close();
    await exporter.stop();
  }
  for (const p of proxies) await p.close();
  await vc.stop();
  rmSync(dir, { recursive: true, force: true });
}
