import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** An answer whose bytes make no progress to the client for this long is cut (the socket is destroyed). */
export const ANSWER_STALL_MS = 10_000;

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
 * socket's high-water mark, the parts stay shared). A client that takes no bytes for `stallMs` is cut.
 */
export function writeAnswer(
  res: ServerResponse,
  parts: readonly Buffer[],
  stallMs: number = ANSWER_STALL_MS,
): void {
  let part = 0;
  let offset = 0;
  // The stall clock runs only once this answer owns the socket: a pipelined answer waiting behind a
  // slow one is not the client's stall.
  let stall: NodeJS.Timeout | undefined;
  const arm = (): void => {
    stall = setTimeout(() => res.destroy(), stallMs);
    stall.unref();
  };
  if (res.socket) arm();
  else res.once('socket', arm);
  const pump = (): void => {
    stall?.refresh();
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
  void answered(res).then(() => {
    res.off('socket', arm);
    clearTimeout(stall);
    res.off('drain', pump);
  });
  pump();
}

/**
 * Writes `source` (read only as fast as the client reads), then `tail`, and ends the answer. A
 * client that takes no bytes for `stallMs` is cut; `source` is destroyed whenever the answer ends.
 */
export function writeStreamedAnswer(
  res: ServerResponse,
  source: Readable,
  tail: Buffer,
  stallMs: number = ANSWER_STALL_MS,
): void {
  let stall: NodeJS.Timeout | undefined;
  const arm = (): void => {
    stall = setTimeout(() => res.destroy(), stallMs);
    stall.unref();
  };
  if (res.socket) arm();
  else res.once('socket', arm);
  const onData = (chunk: Buffer): void => {
    if (!res.write(chunk)) source.pause();
  };
  const onDrain = (): void => {
    stall?.refresh();
    source.resume();
  };
  source.on('data', onData);
  res.on('drain', onDrain);
  source.once('end', () => res.end(tail));
  source.once('error', () => res.destroy());
  void answered(res).then(() => {
    res.off('socket', arm);
    clearTimeout(stall);
    res.off('drain', onDrain);
    source.off('data', onData);
    source.destroy();
  });
}
