/**
 * Runs the built exporter (dist/main.js) as a child process, the way users run it, for
 * integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { closed, eachLine, hold, orphanSafe, repoRoot, terminate, track, type Exit } from './procs.js';

/** The built entry point; `npm run build` creates it. */
export const exporterEntry = join(repoRoot, 'dist', 'main.js');

/** A running exporter. */
export interface ExporterProcess {
  pid: number;
  /** http://127.0.0.1:PORT, from the "listening" log line. */
  baseUrl: string;
  /** Every JSON log line so far (stderr); non-JSON lines appear as { raw: line, stream }. */
  logs: Record<string, unknown>[];
  /** GET `path` (default /metrics). */
  scrape(
    path?: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; text: string }>;
  /** Entries in /proc/<pid>/fd. */
  openFds(): number;
  /** VmRSS from /proc/<pid>/status, in bytes. */
  rssBytes(): number;
  signal(sig: NodeJS.Signals): void;
  /** Settles when the process has exited and all its output has been read. */
  exited: Promise<Exit>;
  /** SIGTERM, SIGKILL after 10 s; resolves with the exit. */
  stop(): Promise<Exit>;
}

const LISTEN_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const ONCE_TIMEOUT_MS = 15_000;

/**
 * A clean environment: only PATH and HOME, so nothing like VSPHERE_* leaks in from the developer's
 * shell. NODE_V8_COVERAGE passes through so scripts/test.sh's coverage includes the child.
 */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
  };
  if (process.env.NODE_V8_COVERAGE) env.NODE_V8_COVERAGE = process.env.NODE_V8_COVERAGE;
  return { ...env, ...extra };
}

/** Spawns `node dist/main.js args`, optionally under a lower open-files limit. */
function spawnExporter(
  args: string[],
  env: Record<string, string>,
  ulimitNofile?: number,
  nodeArgs: readonly string[] = [],
  entry: string = exporterEntry,
): ChildProcess {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
  const node = process.execPath;
  const opts = { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] as ('ignore' | 'pipe')[] };
  // setpriv and bash both exec, so the pid we hold is node's. Arguments travel as "$@", never
  // through the shell's parser.
  const [cmd, argv] =
    ulimitNofile === undefined
      ? orphanSafe(node, [...nodeArgs, entry, ...args])
      : orphanSafe('bash', [
          '-c',
          `ulimit -n ${Math.trunc(ulimitNofile)} && exec "$0" "$@"`,
          node,
          entry,
          ...args,
        ]);
  const child = spawn(cmd, argv, opts);
  track(child);
  return child;
}

/** Starts the exporter on 127.0.0.1:0 with JSON logs and waits for it to listen (and, by default, be ready). */
export async function startExporter(
  opts: {
    env?: Record<string, string>;
    args?: string[];
    ulimitNofile?: number;
    waitReady?: boolean;
    /** Flags for node itself that NODE_OPTIONS does not take (e.g. --cpu-prof); not with ulimitNofile. */
    nodeArgs?: string[];
    /** Another build's main.js (default: dist/main.js), e.g. to compare two versions. */
    entry?: string;
  } = {},
): Promise<ExporterProcess> {
  const args = ['--web.listen-address=127.0.0.1:0', '--log.format=json', ...(opts.args ?? [])];
  const child = spawnExporter(args, cleanEnv(opts.env), opts.ulimitNofile, opts.nodeArgs, opts.entry);
  const exited = closed(child);
  const logs: Record<string, unknown>[] = [];
  let onLog: ((entry: Record<string, unknown>) => void) | undefined;
  const collect = (stream: 'stdout' | 'stderr') => (line: string) => {
    if (line.trim() === '') return;
    let entry: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      entry =
        parsed !== null && typeof parsed === 'object'
          ? (parsed as Record<string, unknown>)
          : { raw: line, stream };
    } catch {
      entry = { raw: line, stream };
    }
    logs.push(entry);
    onLog?.(entry);
  };
  eachLine(child.stdout!, collect('stdout'));
  eachLine(child.stderr!, collect('stderr'));

  let stopping: Promise<Exit> | undefined;
  const stop = (): Promise<Exit> => (stopping ??= terminate(child, exited, STOP_GRACE_MS));
  const tail = (): string =>
    logs
      .slice(-20)
      .map((l) => JSON.stringify(l))
      .join('\n');

  try {
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "listening" log line within ${LISTEN_TIMEOUT_MS} ms:\n${tail()}`)),
        LISTEN_TIMEOUT_MS,
      );
      onLog = (entry) => {
        if (entry.msg === 'listening' && typeof entry.address === 'string') {
          clearTimeout(timer);
          resolve(entry.address);
        }
      };
      void exited.then((e) => {
        clearTimeout(timer);
        reject(
          new Error(`exporter exited (code ${e.code}, signal ${e.signal}) before listening:\n${tail()}`),
        );
      });
    });
    onLog = undefined;
    // "host:port"; an IPv6 host needs brackets in a URL.
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon);
    const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}${address.slice(colon)}`;
    const scrape: ExporterProcess['scrape'] = async (path = '/metrics', headers = {}) => {
      const res = await fetch(`${baseUrl}${path}`, { headers });
      return { status: res.status, headers: res.headers, text: await res.text() };
    };
    if (opts.waitReady ?? true) await waitReady(scrape, exited, tail);
    const pid = child.pid!;
    return {
      pid,
      baseUrl,
      logs,
      scrape,
      openFds: () => readdirSync(`/proc/${pid}/fd`).length,
      rssBytes: () => {
        const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
        return Number(kb) * 1024;
      },
      signal: (sig) => void child.kill(sig),
      // Reading `exited` means someone is about to wait for it.
      get exited() {
        hold(child);
        return exited;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls /-/ready until it answers 200; throws on timeout or if the exporter exits. */
async function waitReady(
  scrape: ExporterProcess['scrape'],
  exited: Promise<Exit>,
  tail: () => string,
): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline && !gone) {
    try {
      const r = await scrape('/-/ready');
      if (r.status === 200) return;
      last = `HTTP ${r.status}: ${r.text.slice(0, 200)}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`exporter ${gone ? 'exited' : 'not ready'} (${last}):\n${tail()}`);
}

/**
 * Runs `node dist/main.js args` to completion (for --help/--version and configuration errors).
 * `args` are passed verbatim: no default listen address or log format. Throws after 15 s.
 */
export async function runExporterOnce(
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnExporter(args, cleanEnv(env));
  hold(child); // awaited right here
  const exited = closed(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ONCE_TIMEOUT_MS);
  });
  const result = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`exporter still running after ${ONCE_TIMEOUT_MS} ms; stderr:\n${stderr.slice(-2000)}`);
  }
  return { code: result.code, stdout, stderr };
}
