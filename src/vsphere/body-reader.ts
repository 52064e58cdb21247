import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { VsphereError } from './errors.js';

// Handling chunks already received never waits for I/O: give the event loop a turn this often, so
// /-/healthy, other targets' scrapes and the arrival of other answers are served while one is read.
const SLICE_MS = 2;
// Bytes received ahead of the reader at most: an answer that arrives faster than it is parsed is
// taken off its connection (and the connection freed) while the parse catches up, without letting
// a 100 MiB inventory answer pile up in memory (a 256-VM QueryPerf answer is ~0.7 MB).
const READ_AHEAD_BYTES = 1024 * 1024;

/** How one answer's body is read. */
export interface BodyReadOptions {
  /** Names the call in errors: the SOAP method, or the vAPI request (`GET /rest/...`). */
  label: string;
  /** The answer is refused (VSPHERE_RESPONSE_TOO_LARGE) once it is larger. */
  maxBytes: number;
  /** What the cap counts, for its error (default `${maxBytes} bytes`). */
  capText?: string;
  /** The caller's deadline, checked at each turn given back to the event loop. */
  signal?: AbortSignal | undefined;
  /** Takes each chunk in order (a streaming parser, or a list joined at the end). */
  onChunk: (chunk: Buffer) => void;
  /** Told once the last byte has arrived, possibly before onChunk has taken every chunk. */
  onReceived?: () => void;
}

/**
 * Reads an answer's body to its end under the byte cap, the same way for SOAP and vAPI answers.
 * Chunks are taken off the connection as they arrive (up to 1 MiB ahead of onChunk), so
 * the connection is free as soon as the answer is in. A body left unread (cap, a chunk handler that
 * threw, the deadline) is destroyed, so its socket is not pinned to an answer nobody reads.
 */
export async function readBody(body: Readable, opts: BodyReadOptions): Promise<void> {
  const queue: Buffer[] = [];
  let head = 0;
  let queued = 0;
  let size = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > opts.maxBytes) {
      failure ??= new VsphereError(
        'VSPHERE_RESPONSE_TOO_LARGE',
        `${opts.label}: response over ${opts.capText ?? `${opts.maxBytes} bytes`}`,
        { method: opts.label },
      );
      body.pause();
    } else {
      queue.push(chunk);
      queued += chunk.length;
      if (queued > READ_AHEAD_BYTES) body.pause();
    }
    poke();
  };
  const onEnd = (): void => {
    ended = true;
    if (failure === undefined) opts.onReceived?.();
    poke();
  };
  const onError = (e: unknown): void => {
    failure ??= e instanceof Error ? e : new Error(String(e));
    poke();
  };
  // A body closed before its end without an error (destroyed by someone else) is a broken answer.
  const onClose = (): void => {
    if (!ended) onError(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  };
  body.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  opts.signal?.addEventListener('abort', poke);
  let done = false;
  try {
    let turn = performance.now();
    for (;;) {
      if (failure !== undefined) throw failure;
      if (head < queue.length) {
        const chunk = queue[head]!;
        queue[head++] = EMPTY;
        queued -= chunk.length;
        if (head === queue.length) queue.length = head = 0;
        if (body.isPaused() && queued <= READ_AHEAD_BYTES / 2 && failure === undefined) body.resume();
        opts.onChunk(chunk);
        if (performance.now() - turn > SLICE_MS) {
          await nextTurn();
          opts.signal?.throwIfAborted();
          turn = performance.now();
        }
        continue;
      }
      if (ended) break;
      opts.signal?.throwIfAborted();
      // Nothing to read yet: the answer's next chunk, its end, its failure or the deadline wakes this.
      await new Promise<void>((resolve) => (wake = resolve));
      turn = performance.now();
    }
    done = true;
  } finally {
    body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    opts.signal?.removeEventListener('abort', poke);
    if (!done) discardBody(body);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Destroys a body that will not be read (an HTTP error page, a failed read): an unread body keeps
 * its socket busy forever, and destroying it lets the pool replace the connection.
 */
export function discardBody(body: Readable): void {
  if (body.destroyed) return;
  // Destroying a body that has not ended emits RequestAbortedError as an 'error' event: without a
  // listener that would be an uncaught exception (a crash on any HTML 503 from vCenter).
  body.on('error', () => undefined);
  body.destroy();
}
