/**
 * A vcsim, the fault proxy in front of it and an exporter pointed at the proxy, for the tests of
 * hostile or broken vCenter answers; plus the memory and series checks those tests share.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from './vcsim.js';
import { startExporter, type ExporterProcess } from './exporter.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { exporterEnv } from './env.js';
import type { Sample } from './prom-text.js';

/** A running vcsim + fault proxy + exporter, closed together. */
export interface HostileRig {
  vc: Vcsim;
  proxy: FaultProxy;
  exporter: ExporterProcess;
  close(): Promise<void>;
}

/** What the exporter is started with. */
export interface HostileRigOptions {
  /** YAML of --config.file, given the proxy URL and the password file; the environment names the target too. */
  config?: (proxyUrl: string, vc: Vcsim, passwordFile: string) => string;
  /** The config names its targets itself: no VSPHERE_URL, VSPHERE_USER or VSPHERE_PASSWORD_FILE. */
  configOnly?: boolean;
  /** Extra environment of the exporter (e.g. NODE_OPTIONS). */
  env?: Record<string, string>;
}

/** Starts vcsim, the proxy and the exporter; everything started is stopped again if a step fails. */
export async function startHostileRig(opts: HostileRigOptions = {}): Promise<HostileRig> {
  const dir = mkdtempSync(join(tmpdir(), 'vsx-answers-'));
  const vc = await startVcsim({ args: [] });
  let proxy: FaultProxy | undefined;
  try {
    proxy = await startFaultProxy(vc.url);
    const env: Record<string, string> = { ...exporterEnv(vc, dir), VSPHERE_URL: proxy.url, ...opts.env };
    const passwordFile = env.VSPHERE_PASSWORD_FILE!;
    const args: string[] = [];
    if (opts.config) {
      const file = join(dir, 'config.yml');
      writeFileSync(file, opts.config(proxy.url, vc, passwordFile));
      args.push(`--config.file=${file}`);
      if (opts.configOnly)
        for (const k of ['VSPHERE_URL', 'VSPHERE_USER', 'VSPHERE_PASSWORD_FILE']) delete env[k];
    }
    const exporter = await startExporter({ env, args });
    const p = proxy;
    return {
      vc,
      proxy: p,
      exporter,
      async close() {
        await exporter.stop();
        await p.close();
        await vc.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await proxy?.close();
    await vc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Fails when two samples have the same name and label set (a duplicate series). */
export function assertNoDuplicateSeries(samples: readonly Sample[]): void {
  const seen = new Set<string>();
  const dupes: string[] = [];
  for (const s of samples) {
    const labels = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = `${s.name}${JSON.stringify(labels)}`;
    if (seen.has(key)) dupes.push(key);
    seen.add(key);
  }
  assert.deepEqual(dupes.slice(0, 5), [], `${dupes.length} duplicate series`);
}

/** Log lines of the exporter at level warn whose message matches `re`. */
export function warnings(exporter: ExporterProcess, re: RegExp): Record<string, unknown>[] {
  return exporter.logs.filter((l) => l.level === 'warn' && typeof l.msg === 'string' && re.test(l.msg));
}
