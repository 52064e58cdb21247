import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** An answer whose bytes make no progress to the client for this long is cut (the socket is destroyed). */
export const ANSWER_STALL_MS = 10_000;
/**
 * An answer still being written this long after it got the socket is cut, however steadily its client
 * reads: a trickling client would otherwise hold a concurrency slot and its collection's buffers for
 * hours. A 135 MiB plain-text answer (50,000 VMs) at 1 MB/s takes a little over 2 min.
 */
export const ANSWER_MAX_MS = 600_000;

/** Limits of one answer's writing. */
export interface AnswerLimits {
  stallMs: number;
  maxMs: number;
}
const LIMITS: AnswerLimits = { stallMs: ANSWER_STALL_MS, maxMs: ANSWER_MAX_MS };

/**
 * The clocks of one answer, started once it owns the socket (a pipelined answer waiting behind a slow
 * one is not its client's stall): `progress()` restarts the stall clock; both end with the answer,
 * and then `ended` runs (the writer's own clean-up).
 */
function answerClocks(res: ServerResponse, limits: AnswerLimits, ended: () => void): { progress(): void } {
  let stall: NodeJS.Timeout | undefined;
  let max: NodeJS.Timeout | undefined;
  const arm = (): void => {
    stall = setTimeout(() => res.destroy(), limits.stallMs).unref();
    max = setTimeout(() => res.destroy(), limits.maxMs).unref();
  };
  if (res.socket) arm();
  else res.once('socket', arm);
  void answered(res).then(() => {
    res.off('socket', arm);
    clearTimeout(stall);
    clearTimeout(max);
    ended();
  });
  return { progress: () => void stall?.refresh() };
}

// Written in views of at most this size (no copy), so that backpressure shows progress chunk by chunk:
// one big write would complete only when all of it is in the kernel.
const CHUNK = 64 * 1024;

// One 'close' listener per connection, however many pipelined answers wait on it.
const waiting = new WeakMap<Socket, Set<() => void>>();

function watch(socket: Socket): Set<() => void> {
  const fns = new Set<() => void>();
  socket.once('close', () => {
    waiting.delete(socket);
    for (const f of fns) f();
  });
  waiting.set(socket, fns);
  return fns;
}

function onSocketClose(socket: Socket, fn: () => void): () => void {
  const fns = waiting.get(socket) ?? watch(socket);
  fns.add(fn);
  return () => void fns.delete(fn);
}

/**
 * Resolves once the answer is flushed to the kernel or its client is gone. A pipelined answer that
 * never got the socket sees neither of its own events when the connection dies: the socket's close
 * ends it too.
 */
export function answered(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  const socket = res.req.socket;
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('finish', done).off('close', done);
      forget();
      resolve();
    };
    res.once('finish', done).once('close', done);
    const forget = onSocketClose(socket, done);
  });
}

/**
 * Writes `parts` and ends the answer, only as fast as the client reads (nothing is queued beyond the
 * socket's high-water mark, the parts stay shared). A client that takes no bytes for `stallMs`, or
 * has not taken the whole answer after `maxMs`, is cut.
 */
export function writeAnswer(
  res: ServerResponse,
  parts: readonly Buffer[],
  limits: AnswerLimits = LIMITS,
): void {
  let part = 0;
  let offset = 0;
  const clocks = answerClocks(res, limits, () => res.off('drain', pump));
  const pump = (): void => {
    clocks.progress();
    while (part < parts.length) {
      if (res.destroyed) return;
      const p = parts[part]!;
      if (p.length === 0) {
        part++;
        continue;
      }
      const end = Math.min(offset + CHUNK, p.length);
      const more = res.write(p.subarray(offset, end));
      offset = end;
      if (offset >= p.length) {
        part++;
        offset = 0;
      }
      if (!more) {
        res.once('drain', pump);
        return;
      }
    }
    // What is left (at most the high-water mark plus one chunk) must reach the client within stallMs too.
    res.end();
  };
  pump();
}

/**
 * Writes `source` (read only as fast as the client reads), then `tail`, and ends the answer, cut as
 * writeAnswer's; `source` is destroyed whenever the answer ends.
 */
export function writeStreamedAnswer(
  res: ServerResponse,
  source: Readable,
  tail: Buffer,
  limits: AnswerLimits = LIMITS,
): void {
  const clocks = answerClocks(res, limits, () => {
    res.off('drain', onDrain);
    source.off('data', onData);
    source.destroy();
  });
  const onData = (chunk: Buffer): void => {
    if (!res.write(chunk)) source.pause();
  };
  const onDrain = (): void => {
    clocks.progress();
    source.resume();
  };
  source.on('data', onData);
  res.on('drain', onDrain);
  source.once('end', () => res.end(tail));
  source.once('error', () => res.destroy());
}
