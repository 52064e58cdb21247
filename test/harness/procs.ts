/**
 * Child-process bookkeeping shared by the harness: every process a test starts is tracked, so a
 * failing or interrupted test never leaves a simulator or exporter running.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (test/harness/ is two levels below it). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const live = new Set<ChildProcess>();

type Refable = { ref?: () => void; unref?: () => void };

/**
 * Tracks `child` until it exits; leftovers are SIGKILLed when this process ends. The child and
 * its pipes stop holding the event loop open: a test that fails before stopping its child must
 * not keep the test file from finishing (node:test would wait forever). Whoever waits for the
 * child calls hold() first.
 */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.unref();
  for (const s of [child.stdout, child.stderr] as Refable[]) s?.unref?.();
}

/** Keeps the event loop alive until `child` has closed, for a caller awaiting its exit. */
export function hold(child: ChildProcess): void {
  child.ref();
  for (const s of [child.stdout, child.stderr] as Refable[]) s?.ref?.();
}

/** SIGKILLs every tracked child still running (synchronous, so it is safe in an 'exit' handler). */
export function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

process.once('exit', killAll);
// 'exit' does not run when a signal kills us (node --test cancels a file with SIGTERM), so clean
// up there too. Exit ourselves only if nobody else (e.g. the test runner) handles the signal.
for (const [sig, num] of [
  ['SIGINT', 2],
  ['SIGTERM', 15],
] as const) {
  process.on(sig, () => {
    killAll();
    if (process.listenerCount(sig) === 1) process.exit(128 + num);
  });
}

const SETPRIV = '/usr/bin/setpriv'; // util-linux, essential in Debian
const haveSetpriv = existsSync(SETPRIV);

/**
 * `[command, args]` that run `cmd args` with SIGKILL as its parent-death signal, so the child
 * dies even when this process is SIGKILLed (no handler runs then). setpriv execs, so the pid is
 * the command's own.
 */
export function orphanSafe(cmd: string, args: string[]): [string, string[]] {
  return haveSetpriv ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', cmd, ...args]] : [cmd, args];
}

/** Result of a child process: exit code, or the signal that ended it. */
export interface Exit {
  code: number | null;
  signal: string | null;
}

/**
 * Resolves once `child` has exited and its stdio is closed, so all its output has been read.
 * Call it right after spawn(), before 'close' can fire.
 */
export function closed(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
}

/** SIGTERM, then SIGKILL if `child` is still running after `graceMs`; resolves when it is gone. */
export async function terminate(child: ChildProcess, exited: Promise<Exit>, graceMs: number): Promise<Exit> {
  hold(child);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  const first = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (first === 'late') child.kill('SIGKILL');
  return exited;
}

/** Calls `onLine` for every complete line of `stream`, e.g. a child's stdout. */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  stream.on('end', () => {
    if (buf !== '') onLine(buf);
  });
}

/** True while /proc/<pid> exists (the process, or its zombie, is still there). */
export function procAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}
