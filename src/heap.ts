import { setFlagsFromString } from 'node:v8';

/** Heap growth allowed after each full GC, in percent, unless NODE_OPTIONS sets its own. */
export const HEAP_GROWING_PERCENT = 25;

/**
 * A collection at 10,000 VMs allocates ~1 GB of short-lived objects around a live set of
 * ~20–80 MiB. V8's default lets the old generation grow to 3–4× the live size before the next
 * full GC when GC is cheap, which showed up as ~400 MiB peak RSS. Measured at 10,000 VMs with
 * every collector: 1.5× gave a 315 MiB peak, 1.25× 280 MiB, 1.1× no lower (V8's minimum step
 * applies), each at the same scrape time; 1.25× it is. The growing factor is read at every GC, so setting it at start-up
 * takes effect.
 */
export function tuneHeap(env: Record<string, string | undefined>): void {
  if (/--heap-growing-percent\b/.test(env.NODE_OPTIONS ?? '')) return;
  if (process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
