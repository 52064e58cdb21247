import { setMaxListeners } from 'node:events';
import { VsphereError } from './errors.js';

/** How a full inventory read runs beside the scrapes. */
export interface LoadOptions {
  /** Its own deadline, in ms; a scrape's deadline never ends it. */
  timeoutMs: number;
  /** Objects the last full read of this target held, for "N of M" (undefined: not known yet). */
  expected?: number;
  /** What kind of read it is, for the reason ("first read of this session", "resync"). */
  kind: string;
}

const MAX_LOAD_LISTENERS = 64;

/**
 * One full inventory read (the first of a session, or a resync after a dropped watch) running in
 * the background under its own deadline: at 50,000 VMs it takes longer than a scrape may wait
 * (`scrape.timeout_seconds`, 10 s by default), so a scrape that waited in vain answers with
 * `loadingError()` and the read goes on for the next one. It ends only at its own deadline, by
 * abort() (the session's end, shutdown), or by failing.
 */
export class InventoryLoad<T> {
  /** Settles with what the read returned (or its failure). */
  readonly done: Promise<T>;
  /** Objects received so far (each ObjectUpdate of the read counts once). */
  received = 0;
  private readonly ac = new AbortController();
  private readonly startedAt = performance.now();

  /** Starts `run` at once with a signal that fires at the load's deadline or on abort(). */
  constructor(
    run: (signal: AbortSignal, load: InventoryLoad<T>) => Promise<T>,
    private readonly opts: LoadOptions,
  ) {
    const seconds = Math.round(opts.timeoutMs / 1000);
    const deadline = AbortSignal.timeout(opts.timeoutMs);
    const signal = AbortSignal.any([this.ac.signal, deadline]);
    // Every call of the read and every scrape that waits for it listen on it.
    setMaxListeners(MAX_LOAD_LISTENERS, signal);
    this.done = run(signal, this).catch((e: unknown) => {
      if (!deadline.aborted || this.ac.signal.aborted) throw e;
      throw new VsphereError(
        'VSPHERE_TIMEOUT',
        `inventory read (${opts.kind}) did not finish within its deadline of ${seconds} s ` +
          `(vsphere.inventory_timeout_seconds): ${this.progress()}`,
        { cause: e },
      );
    });
    // A load nobody waits for any more must not become an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Stops the read (its calls are aborted; the read's own cleanup destroys what it created). */
  abort(reason: string): void {
    this.ac.abort(new VsphereError('VSPHERE_ABORTED', `inventory read stopped: ${reason}`));
  }

  /** Seconds since the read started. */
  get seconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** "12,000 of 50,000 objects" or "12,000 objects read". */
  progress(): string {
    const n = this.received.toLocaleString('en-US');
    const m = this.opts.expected;
    return m !== undefined && m >= this.received
      ? `${n} of ${m.toLocaleString('en-US')} objects`
      : `${n} objects read`;
  }

  /** The error a scrape answers with while this read is still running. */
  loadingError(): VsphereError {
    return new VsphereError(
      'VSPHERE_INVENTORY_LOADING',
      `inventory loading: ${this.progress()} after ${this.seconds.toFixed(0)} s (${this.opts.kind}; ` +
        `continues in the background, deadline ${Math.round(this.opts.timeoutMs / 1000)} s)`,
    );
  }

  /**
   * The read's result, or its failure; when `signal` fires first, loadingError() (the read goes
   * on). A signal already aborted gets loadingError() at once.
   */
  wait(signal?: AbortSignal): Promise<T> {
    if (!signal) return this.done;
    if (signal.aborted) return Promise.reject(this.loadingError());
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(this.loadingError());
      signal.addEventListener('abort', onAbort, { once: true });
      this.done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}
