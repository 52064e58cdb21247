import { setTimeout as sleep } from 'node:timers/promises';
import { VsphereError } from './errors.js';

/** `p`, or VSPHERE_ABORTED saying `what` was cut once `signal` fires (`p` itself goes on). */
export async function waitFor<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    throw new VsphereError('VSPHERE_ABORTED', what);
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new VsphereError('VSPHERE_ABORTED', what));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** Milliseconds until `deadline` (ms since the epoch), never negative. */
export function msLeft(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

/** Resolves after `ms`; unref'd, so a pending shutdown wait does not keep the process alive by itself. */
export function delay(ms: number): Promise<void> {
  return sleep(ms, undefined, { ref: false });
}

/** `p` or, whichever comes first, `deadline` (resolving undefined); `p`'s failure is swallowed. */
export async function until<T>(p: Promise<T>, deadline: number): Promise<T | undefined> {
  return Promise.race([p.catch(() => undefined), delay(msLeft(deadline)).then(() => undefined)]);
}

/**
 * Runs `fn` with a signal that fires with `signal` or after `ms`, whichever comes first; the timer
 * is cleared when `fn` settles (no timer outlives the work it bounds), and the signal given to `fn`
 * fired, so `signal` holds no link to it.
 */
export async function withinMs<T>(
  signal: AbortSignal | undefined,
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    return await fn(signal ? AbortSignal.any([signal, ac.signal]) : ac.signal);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
