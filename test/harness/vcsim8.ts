/**
 * Starts the vSphere 8 simulator (govmomi 0.57's stock vcsim, prebuilt at ../shared/vcsim8/vcsim)
 * for the stage that runs the exporter against a newer vCenter: CSV QueryPerf, RetrievePropertiesEx
 * paged by maxObjects, WaitForUpdatesEx truncated at 100 objects, API 8.0.2.0.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { closed, eachLine, orphanSafe, repoRoot, terminate, track, type Exit } from './procs.js';
import { allTags, firstTag, RawVimClient, refXml } from './vim-soap.js';

/** The API version the stage asks vcsim 8 to report (its default is 6.5). */
export const VCSIM8_API_VERSION = '8.0.2.0';

// In a linked git worktree (.git is a file naming <main>/.git/worktrees/<name>) the shared
// directory sits beside the main checkout, not beside the worktree.
function mainCheckout(): string | undefined {
  try {
    const gitdir = /^gitdir:\s*(.+)$/m.exec(readFileSync(join(repoRoot, '.git'), 'utf8'))?.[1]?.trim();
    const at = gitdir?.lastIndexOf('/.git/worktrees/') ?? -1;
    return gitdir && at > 0 ? gitdir.slice(0, at) : undefined;
  } catch {
    return undefined; // .git is a directory (a main checkout) or absent (an unpacked tarball)
  }
}

/** Where the binary is looked for: $VCSIM8_BIN, else ../shared/vcsim8/vcsim beside the repository (or its main checkout). */
export function vcsim8Candidates(): string[] {
  if (process.env.VCSIM8_BIN) return [process.env.VCSIM8_BIN];
  const roots = [repoRoot, mainCheckout()].filter((r): r is string => r !== undefined);
  return [...new Set(roots.map((r) => join(dirname(r), 'shared', 'vcsim8', 'vcsim')))];
}

/** The binary's path, or undefined when none of the candidates exists. */
export function vcsim8Binary(): string | undefined {
  return vcsim8Candidates().find((p) => existsSync(p));
}

/** Why the stage is skipped (the binary is absent), or undefined when it runs. */
export function vcsim8SkipReason(): string | undefined {
  if (vcsim8Binary()) return undefined;
  return `vSphere 8 simulator not found (looked for ${vcsim8Candidates().join(', ')}; set VCSIM8_BIN): stage skipped`;
}

/** A running vcsim 8. */
export interface Vcsim8 {
  /** SDK endpoint, e.g. https://127.0.0.1:PORT/sdk (no credentials in it). */
  url: string;
  user: string;
  password: string;
  pid: number;
  /** SIGTERM (SIGKILL after 5 s), wait for exit, remove its temporary files. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;

/**
 * Starts vcsim 8 on 127.0.0.1 (a free port) reporting API 8.0.2.0, accepting only `user`/`password`
 * (a plain name: vcsim 8 refuses every login of a name containing "@"). `tls`: its own certificate;
 * absent, plain HTTP. `args`: inventory flags such as `-vm 60 -host 4`.
 */
export async function startVcsim8(
  opts: {
    user?: string;
    password?: string;
    args?: readonly string[];
    tls?: { cert: string; key: string };
  } = {},
): Promise<Vcsim8> {
  const bin = vcsim8Binary();
  if (!bin) throw new Error(vcsim8SkipReason());
  const user = opts.user ?? 'exporter';
  const password = opts.password ?? 's3cret-pässword';
  // Its datastores are directories under TMPDIR: a private one, removed with it.
  const dir = mkdtempSync(join(tmpdir(), 'vsx-vcsim8-'));
  const tls = opts.tls ? ['-tlscert', opts.tls.cert, '-tlskey', opts.tls.key] : ['-tls=false'];
  // The password is on vcsim's command line (it has no other way to take it); it is never
  // echoed into an error message or log here (the URL line carries it too and is not kept).
  const [cmd, args] = orphanSafe(bin, [
    ...['-l', '127.0.0.1:0', '-api-version', VCSIM8_API_VERSION],
    ...['-username', user, '-password', password],
    ...tls,
    ...(opts.args ?? []),
  ]);
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: dir },
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
    const url = await new Promise<URL>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`vcsim 8 printed no GOVC_URL within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      let seen = false;
      // "export GOVC_URL=https://user:pass@127.0.0.1:PORT/sdk GOVC_SIM_PID=N" once it listens; keep
      // reading afterwards so the pipe never fills up.
      eachLine(child.stdout, (line) => {
        const m = /GOVC_URL=(\S+)/.exec(line);
        if (seen || !m?.[1]) return;
        seen = true;
        clearTimeout(timer);
        try {
          resolve(new URL(m[1]));
        } catch {
          reject(new Error('vcsim 8 printed a GOVC_URL that is not a URL'));
        }
      });
      void exited.then((e: Exit) => {
        clearTimeout(timer);
        reject(
          new Error(`vcsim 8 exited (code ${e.code}, signal ${e.signal}) before listening: ${stderr.trim()}`),
        );
      });
    });
    url.username = '';
    url.password = '';
    return { url: url.href, user, password, pid: child.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs `fn` with a raw SOAP client (no code shared with the exporter) logged in to vc, logging out afterwards. */
export async function withRaw<T>(vc: Vcsim8, fn: (c: RawVimClient) => Promise<T>): Promise<T> {
  const c = new RawVimClient(vc.url);
  await c.login(vc.user, vc.password);
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => undefined);
  }
}

/** PerformanceManager.perfCounter as `group.name.rollup` → counter key, read by the raw client. */
export async function perfCounterKeys(c: RawVimClient): Promise<Map<string, number>> {
  const { propertyCollector } = await c.serviceContent();
  // vcsim's fixed moid (RawVimClient reads only the ServiceContent references the other tests use).
  const perf = { type: 'PerformanceManager', value: 'PerfMgr' };
  const xml = await c.call(
    'RetrievePropertiesEx',
    refXml('_this', propertyCollector) +
      '<specSet><propSet><type>PerformanceManager</type><pathSet>perfCounter</pathSet></propSet>' +
      `<objectSet>${refXml('obj', perf)}</objectSet></specSet><options/>`,
  );
  const keyOf = (info: string, tag: string): string | undefined =>
    new RegExp(`<${tag}[^>]*>[\\s\\S]*?<key>([^<]*)</key>`).exec(info)?.[1];
  const out = new Map<string, number>();
  for (const info of allTags(xml, 'PerfCounterInfo')) {
    const name = `${keyOf(info, 'groupInfo')}.${keyOf(info, 'nameInfo')}.${firstTag(info, 'rollupType')}`;
    out.set(name, Number(firstTag(info, 'key')));
  }
  return out;
}
