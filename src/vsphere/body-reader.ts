import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { VsphereError } from './errors.js';

// Handling chunks already in the socket's buffer never waits for I/O: give the event loop a turn
// this often, so /-/healthy and other targets' scrapes are served while a large answer is read.
const SLICE_MS = 10;

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
  /** Takes each chunk as it arrives (a streaming parser, or a list joined at the end). */
  onChunk: (chunk: Buffer) => void;
}

/**
 * Reads an answer's body to its end under the byte cap, the same way for SOAP and vAPI answers. A
 * body left unread (cap, a chunk handler that threw, the deadline) is destroyed, so its socket is
 * not pinned to an answer nobody reads.
 */
export async function readBody(body: Readable, opts: BodyReadOptions): Promise<void> {
  let done = false;
  try {
    let size = 0;
    let turn = performance.now();
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (performance.now() - turn > SLICE_MS) {
        await nextTurn();
        opts.signal?.throwIfAborted();
        turn = performance.now();
      }
      size += chunk.length;
      if (size > opts.maxBytes) {
        throw new VsphereError(
          'VSPHERE_RESPONSE_TOO_LARGE',
          `${opts.label}: response over ${opts.capText ?? `${opts.maxBytes} bytes`}`,
          { method: opts.label },
        );
      }
      opts.onChunk(chunk);
    }
    done = true;
  } finally {
    if (!done) discardBody(body);
  }
}

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
