/**
 * Starts govmomi's vCenter simulator (test/harness/vcsim/main.go) for integration tests and
 * observes it through a raw SOAP client that shares no code with the exporter.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closed, eachLine, orphanSafe, repoRoot, terminate, track, type Exit } from './procs.js';
import { RawVimClient, type UserSession } from './vim-soap.js';

/** The simulated VMs and hosts, as written by vcsim's -inventory-out straight from its model. */
export interface VcsimInventory {
  vms: {
    moid: string;
    name: string;
    numCpu: number;
    memoryMB: number;
    powerState: string;
    instanceUuid: string;
    uuid: string;
    template: boolean;
    host: string;
  }[];
  hosts: {
    moid: string;
    name: string;
    numCpuCores: number;
    cpuMhz: number;
    memorySize: number;
    connectionState: string;
    inMaintenanceMode: boolean;
    version: string;
  }[];
}

/** A running simulator. */
export interface Vcsim {
  /** SDK endpoint, e.g. http://127.0.0.1:PORT/sdk (no credentials in it). */
  url: string;
  user: string;
  password: string;
  pid: number;
  inventory: VcsimInventory;
  /** SIGTERM (SIGKILL after 5 s), wait for exit, remove temp files. Idempotent. */
  stop(): Promise<void>;
}

/** The larger model the per-kind tests use: 2 datacenters × 2 clusters × 2 hosts, a standalone host per datacenter, 2 child pools per cluster, 3 datastores, 2 VMs per pool. */
export const LARGE_MODEL: readonly string[] = [
  ...['-dc', '2', '-cluster', '2', '-host', '2', '-standalone-host', '1'],
  ...['-pool', '2', '-ds', '3', '-vm', '2'],
];

/** Path of the simulator binary built by scripts/build-vcsim.sh. */
export const vcsimBinary = join(repoRoot, '.cache', 'vcsim', 'vcsim');

let built: Promise<string> | undefined;

/** Runs scripts/build-vcsim.sh once per process (it is a no-op when up to date); returns the binary path. */
export function buildVcsim(): Promise<string> {
  built ??= promisify(execFile)('bash', [join(repoRoot, 'scripts', 'build-vcsim.sh')], { cwd: repoRoot })
    .then(() => vcsimBinary)
    .catch((err: unknown) => {
      built = undefined; // let a later call retry, e.g. after the packages were installed
      throw err;
    });
  return built;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/** Starts a simulator (default VPX model, plus `args`) that accepts only `user`/`password`. */
export async function startVcsim(
  opts: { user?: string; password?: string; args?: readonly string[]; startTimeoutMs?: number } = {},
): Promise<Vcsim> {
  const user = opts.user ?? 'exporter';
  const password = opts.password ?? 's3cret-pässword';
  const bin = await buildVcsim();
  const dir = mkdtempSync(join(tmpdir(), 'vsx-vcsim-'));
  const inventoryFile = join(dir, 'inventory.json');
  // The password is on vcsim's command line (it has no other way to take it); it is never
  // echoed into an error message or log here.
  const [cmd, args] = orphanSafe(bin, [
    '-user',
    `${user}:${password}`,
    '-inventory-out',
    inventoryFile,
    ...(opts.args ?? []),
  ]);
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  track(child);
  const exited = closed(child);
  let stderr = '';
  eachLine(child.stderr, (line) => {
    if (stderr.length < 8192) stderr += `${line}\n`;
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= terminate(child, exited, STOP_GRACE_MS).then(() =>
      rmSync(dir, { recursive: true, force: true }),
    ));

  try {
    const first = await new Promise<string>((resolve, reject) => {
      // A 50,000-VM model takes vcsim minutes to build before it listens.
      const startMs = opts.startTimeoutMs ?? START_TIMEOUT_MS;
      const timer = setTimeout(() => reject(new Error(`vcsim printed no URL within ${startMs} ms`)), startMs);
      let seen = false;
      // Keep reading stdout after the first line so the pipe never fills up.
      eachLine(child.stdout, (line) => {
        if (seen || !line.startsWith('{')) return;
        seen = true;
        clearTimeout(timer);
        resolve(line);
      });
      void exited.then((e: Exit) => {
        clearTimeout(timer);
        reject(
          new Error(
            `vcsim exited (code ${e.code}, signal ${e.signal}) before printing its URL: ${stderr.trim()}`,
          ),
        );
      });
    });
    const info = JSON.parse(first) as { url?: unknown; pid?: unknown };
    if (typeof info.url !== 'string') throw new Error(`vcsim's first line has no url: ${first}`);
    // -inventory-out is written before the server starts, so it is complete by now.
    const inventory = JSON.parse(readFileSync(inventoryFile, 'utf8')) as VcsimInventory;
    return { url: info.url, user, password, pid: child.pid ?? Number(info.pid), inventory, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs `fn` with a raw client logged in as vc's user, logging out afterwards. */
async function withSession<T>(vc: Vcsim, fn: (c: RawVimClient, me: UserSession) => Promise<T>): Promise<T> {
  const c = new RawVimClient(vc.url);
  const me = await c.login(vc.user, vc.password);
  try {
    return await fn(c, me);
  } finally {
    await c.logout();
  }
}

/** Sessions open on vc (SessionManager.sessionList), excluding the one this call opens to look. */
export async function listSessions(vc: Vcsim): Promise<UserSession[]> {
  return withSession(vc, async (c) => {
    const { list, current } = await c.sessions();
    if (!current?.key) throw new Error('vcsim reported no currentSession');
    return list.filter((s) => s.key !== current.key);
  });
}

/** Ends session `key` on vc (SessionManager.TerminateSession), as an administrator would. */
export async function terminateSession(vc: Vcsim, key: string): Promise<void> {
  await withSession(vc, (c) => c.terminate(key));
}

/** Logs a separate raw client in to vc (default: vc's own user); call logout() on the result. */
export async function rawLogin(
  vc: Vcsim,
  creds: { user?: string; password?: string } = {},
): Promise<UserSession & { client: RawVimClient; logout(): Promise<void> }> {
  const client = new RawVimClient(vc.url);
  const me = await client.login(creds.user ?? vc.user, creds.password ?? vc.password);
  return { ...me, client, logout: () => client.logout() };
}
