/** Small helpers shared by the integration tests: exporter environment and metric lookups. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExporterProcess } from './exporter.js';
import { find, parsePrometheusText, type Sample } from './prom-text.js';
import { listSessions, type Vcsim } from './vcsim.js';
import type { UserSession } from './vim-soap.js';

/** Env pointing the exporter at `url` (default vc's) as vc's user, the password in a 0600 file in `dir`. */
export function exporterEnv(
  vc: Vcsim,
  dir: string,
  opts: { url?: string; password?: string } = {},
): Record<string, string> {
  const file = join(dir, 'password');
  writeFileSync(file, `${opts.password ?? vc.password}\n`, { mode: 0o600 });
  return { VSPHERE_URL: opts.url ?? vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: file };
}

/** The single value of `name{labels}`; fails when the series is missing or repeated. */
export function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = find(samples, name, labels);
  assert.equal(hits.length, 1, `exactly one ${name}${JSON.stringify(labels)} series, got ${hits.length}`);
  return hits[0]!.value;
}

/** GET `/metrics` timed client-side (ms, high resolution), parsed. */
export async function timedScrape(
  exporter: ExporterProcess,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; ms: number; samples: Sample[] }> {
  const t0 = performance.now();
  const res = await exporter.scrape('/metrics', headers);
  const ms = performance.now() - t0;
  return { status: res.status, text: res.text, ms, samples: parsePrometheusText(res.text).samples };
}

/** vCenter sessions of vc's user (listSessions already leaves out the one it opens to look). */
export async function userSessions(vc: Vcsim): Promise<UserSession[]> {
  return (await listSessions(vc)).filter((s) => s.userName === vc.user);
}

/** `--config.file` arguments selecting `vsphere.inventory: full` (tests of the full-read path), written into `dir`. */
export function fullInventoryArgs(dir: string): string[] {
  const file = join(dir, 'full-inventory.yml');
  writeFileSync(file, 'vsphere:\n  inventory: full\n');
  return ['--config.file', file];
}
