/**
 * The install steps of the Containerfile's runtime stage and of `npm pack` + install, performed
 * outside a container (no container runtime is available where the tests run): the result must
 * print its version and help, and scrape vcsim.
 *
 * Neither the registry nor a warm npm cache is assumed (a fresh clone after `npm ci` has neither the
 * packuments nor, with another cache, the tarballs): npm runs with an empty cache of its own, and the
 * production dependencies come from the repository's node_modules (test/harness/npm-offline.ts).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exporterEnv, metric } from '../harness/env.js';
import { copyProductionModules, npmEnv } from '../harness/npm-offline.js';
import { closed, eachLine, orphanSafe, repoRoot, terminate, track } from '../harness/procs.js';
import { parsePrometheusText } from '../harness/prom-text.js';
import { promtoolCheckMetrics, vsphereFamiliesText } from '../harness/promtool.js';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};

/** npm's own cache for this file's installs: empty, like a fresh machine's. */
let npmCache = '';

/** Runs a command to completion; rejects with its output on a non-zero exit. */
function run(cmd: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd, timeout: 120_000, env: npmEnv(npmCache) }, (e, stdout, stderr) =>
      e
        ? reject(new Error(`${cmd} ${args.join(' ')}: ${e.message}\n${stderr}`))
        : resolve({ stdout, stderr }),
    ),
  );
}

// Never the registry: every dependency is already on disk (copyProductionModules), and --offline
// turns any attempt to fetch one into an error instead of a hang or a silent download.
const NPM_INSTALL_OPTS = ['--offline', '--ignore-scripts', '--no-audit', '--no-fund'];

/**
 * Puts the production dependencies into `dir` the way npm lays them out, bin links included (npm
 * would otherwise take a missing link for a package to re-fetch).
 */
async function seedProductionModules(dir: string): Promise<void> {
  copyProductionModules(dir);
  await run('npm', ['rebuild', ...NPM_INSTALL_OPTS], dir);
}

/** Starts `argv` (an installed exporter) against vc on 127.0.0.1:0, scrapes /metrics once, stops it. */
async function scrapeOnce(
  argv: string[],
  vc: Vcsim,
  dir: string,
): Promise<{ text: string; exit: number | null }> {
  const [cmd, args] = orphanSafe(argv[0]!, [
    ...argv.slice(1),
    '--web.listen-address=127.0.0.1:0',
    '--log.format=json',
  ]);
  const child = spawn(cmd, args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...exporterEnv(vc, dir) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  track(child);
  const exited = closed(child);
  try {
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "listening" log line within 30 s')), 30_000);
      eachLine(child.stderr, (line) => {
        const entry = (line.startsWith('{') ? JSON.parse(line) : {}) as { msg?: string; address?: string };
        if (entry.msg === 'listening' && entry.address) {
          clearTimeout(timer);
          resolve(entry.address);
        }
      });
      void exited.then((e) => reject(new Error(`exited early: code ${e.code}`)));
    });
    const res = await fetch(`http://${address}/metrics`, {
      headers: { 'X-Prometheus-Scrape-Timeout-Seconds': '20' },
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    return { text, exit: (await terminate(child, exited, 10_000)).code };
  } finally {
    await terminate(child, exited, 10_000);
  }
}

describe('installing the exporter without the repository', { timeout: 300_000 }, () => {
  let vc: Vcsim;
  const tmp = mkdtempSync(join(tmpdir(), 'vsx-pkg-'));
  npmCache = join(tmp, 'npm-cache');
  before(async () => {
    assert.ok(existsSync(join(repoRoot, 'dist', 'main.js')), 'run npm run build first');
    mkdirSync(npmCache);
    vc = await startVcsim({ args: ['-dc', '1', '-cluster', '1', '-host', '2', '-vm', '2'] });
  });
  after(async () => {
    await vc?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A successful scrape of vc: promtool-clean, logged in, every vcsim VM exported. */
  async function assertScrapes(argv: string[], dir: string): Promise<void> {
    const { text, exit } = await scrapeOnce(argv, vc, dir);
    assert.equal(exit, 0, 'SIGTERM ends it with exit code 0');
    const { samples } = parsePrometheusText(text);
    assert.equal(metric(samples, 'vsphere_up'), 1);
    assert.equal(metric(samples, 'vsphere_exporter_build_info', { version: pkg.version }), 1);
    const vms = new Set(samples.filter((s) => s.name === 'vsphere_vm_info').map((s) => s.labels.vm_moid));
    assert.deepEqual([...vms].sort(), vc.inventory.vms.map((v) => v.moid).sort());
    // prom-client's nodejs_active_*_total gauges are its own naming, outside this check.
    const ours = vsphereFamiliesText(text);
    const check = await promtoolCheckMetrics(ours);
    assert.equal(check.code, 0, check.output);
  }

  // `npm ci --omit=dev` itself needs the registry's tarballs; its result is the lockfile's production
  // entries, which is what is seeded here. npm then confirms that package.json, the lockfile and
  // node_modules agree (it would have to fetch otherwise, and --offline fails), and leaves the
  // lockfile as it is, as npm ci requires.
  it("the Containerfile runtime stage: the lockfile's production dependencies, dist/, node dist/main.js", async () => {
    const app = join(tmp, 'app');
    mkdirSync(app);
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(repoRoot, f), join(app, f));
    await seedProductionModules(app);
    await run('npm', ['install', '--omit=dev', ...NPM_INSTALL_OPTS], app);
    assert.equal(
      readFileSync(join(app, 'package-lock.json'), 'utf8'),
      readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'),
      'package-lock.json is in sync with package.json (npm changed nothing)',
    );
    await run('npm', ['ls', '--omit=dev', '--all', '--offline'], app);
    cpSync(join(repoRoot, 'dist'), join(app, 'dist'), { recursive: true });
    for (const dev of Object.keys(pkg.devDependencies)) {
      assert.ok(!existsSync(join(app, 'node_modules', dev)), `devDependency ${dev} not installed`);
    }
    const main = join(app, 'dist', 'main.js');
    const v = await run(process.execPath, [main, '--version'], app);
    assert.equal(v.stdout, `vsphere-exporter ${pkg.version} (node ${process.version})\n`);
    assert.match((await run(process.execPath, [main, '--help'], app)).stdout, /--config\.file/);
    await assertScrapes([process.execPath, main], app);
  });

  it('npm pack: the tarball holds dist/ only and its installed vsphere-exporter command works', async () => {
    const packDir = join(tmp, 'pack');
    mkdirSync(packDir);
    const packed = JSON.parse(
      (await run('npm', ['pack', '--json', '--pack-destination', packDir], repoRoot)).stdout,
    ) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    assert.ok(files.includes('dist/main.js'));
    for (const f of files)
      assert.ok(
        /^(dist\/.*\.js(\.map)?|package\.json|README\.md)$/.test(f),
        `unexpected ${f} in the tarball`,
      );
    const prefix = join(tmp, 'install');
    mkdirSync(prefix);
    await run('npm', ['init', '-y'], prefix);
    await seedProductionModules(prefix);
    await run(
      'npm',
      ['install', '--omit=dev', ...NPM_INSTALL_OPTS, join(packDir, packed[0]!.filename)],
      prefix,
    );
    const bin = join(prefix, 'node_modules', '.bin', 'vsphere-exporter');
    const v = await run(bin, ['--version'], prefix);
    assert.equal(v.stdout, `vsphere-exporter ${pkg.version} (node ${process.version})\n`);
    const h = await run(bin, ['--help'], prefix);
    assert.match(h.stdout, /^Usage: vsphere-exporter/);
    await assertScrapes([bin], prefix);
  });
});
