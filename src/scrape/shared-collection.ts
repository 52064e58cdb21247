import { setMaxListeners } from 'node:events';

/** Why a scrape stopped waiting before the shared collection finished. */
export type Departure = { kind: 'deadline'; budgetSeconds: number } | { kind: 'hangup' };

// After its deadline, a scrape whose departure ends the collection waits this long for the aborted
// collection's own answer (what was complete: the inventory families) before answering without it.
// Aborted calls settle within milliseconds; this only bounds the wait if one did not.
const ABORT_GRACE_MS = 250;

/**
 * One collection shared by every scrape that waits for it. Each scrape waits at most its own
 * deadline; the collection runs until the latest deadline of its waiters (never past `capSeconds`
 * after it started) or until no waiter is left, so a short scrape never cuts a longer one's work.
 */
export class SharedCollection<T> {
  /** Settles with what `run` returns. */
  readonly result: Promise<T>;
  private readonly ac = new AbortController();
  private readonly startedAt = performance.now();
  private readonly capAt: number;
  private deadlineAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters = 0;
  private done = false;

  /**
   * Starts `run` at once. It must stop when the controller's signal aborts (deadline, every waiter
   * gone, or abort()); it may abort the controller itself when nobody will read its remaining work.
   * `onEnded` runs when its deadline passes or its last waiter leaves, so a later scrape starts afresh.
   */
  constructor(
    run: (ac: AbortController) => Promise<T>,
    capSeconds: number,
    private readonly onEnded: () => void,
  ) {
    // Every collector's in-flight requests listen on this one signal (8 collectors × perf
    // concurrency); Node's default of 10 listeners would warn about a leak that is not one.
    setMaxListeners(256, this.ac.signal);
    this.capAt = this.startedAt + capSeconds * 1000;
    this.result = run(this.ac).finally(() => {
      this.done = true;
      clearTimeout(this.timer);
    });
  }

  /** Aborts the collection (its waiters get its result, built from what was complete). */
  abort(reason: string): void {
    clearTimeout(this.timer);
    this.ac.abort(new Error(reason));
  }

  /**
   * Waits for the collection for at most `budgetSeconds` (extending the collection's deadline to
   * this scrape's, within the cap). Resolves with the collection, or with a Departure when the
   * scrape's deadline passes first or `signal` aborts. A signal already aborted is not counted.
   */
  join(budgetSeconds: number, signal?: AbortSignal): Promise<T | Departure> {
    if (signal?.aborted) return Promise.resolve({ kind: 'hangup' });
    if (this.done) return this.result;
    this.waiters++;
    const deadline = performance.now() + budgetSeconds * 1000;
    this.extend(deadline);
    return new Promise<T | Departure>((resolve) => {
      let grace: NodeJS.Timeout | undefined;
      let left = false;
      const cleanup = (): void => {
        clearTimeout(timer);
        clearTimeout(grace);
        signal?.removeEventListener('abort', onAbort);
      };
      const leave = (): void => {
        if (left) return;
        left = true;
        if (--this.waiters === 0) this.end('every scrape waiting for this collection hung up');
      };
      const onAbort = (): void => {
        leave();
        cleanup();
        resolve({ kind: 'hangup' });
      };
      const timer = setTimeout(() => {
        const answer = (): void => {
          leave();
          cleanup();
          resolve({ kind: 'deadline', budgetSeconds });
        };
        // A shorter scrape answers now and the collection goes on for the others. The longest (or
        // last) waiter ends the collection instead, and takes its answer: what was complete.
        if (deadline < this.deadlineAt && this.waiters > 1) return answer();
        if (deadline >= this.deadlineAt) this.expire();
        else this.end('every other scrape waiting for this collection hung up or reached its deadline');
        grace = setTimeout(answer, ABORT_GRACE_MS);
      }, budgetSeconds * 1000);
      signal?.addEventListener('abort', onAbort, { once: true });
      // Settled either way: the scrape adopts the collection's outcome (a failure included).
      const settled = (): void => {
        leave();
        cleanup();
        resolve(this.result);
      };
      this.result.then(settled, settled);
    });
  }

  private extend(deadline: number): void {
    const next = Math.min(this.capAt, Math.max(this.deadlineAt, deadline));
    if (next === this.deadlineAt) return;
    this.deadlineAt = next;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.expire(), Math.max(0, next - performance.now()));
  }

  private expire(): void {
    const seconds = (this.deadlineAt - this.startedAt) / 1000;
    this.end(`collection deadline of ${seconds.toFixed(1)} s reached`);
  }

  /** Aborts a collection nobody will wait for any more; a later scrape starts a fresh one. */
  private end(reason: string): void {
    if (this.done || this.ac.signal.aborted) return;
    this.abort(reason);
    this.onEnded();
  }
}
