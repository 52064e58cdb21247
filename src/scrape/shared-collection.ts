import { setMaxListeners } from 'node:events';
import type { Budget } from './deadline.js';

/** Why a scrape stopped waiting before the shared collection finished. */
export type Departure = { kind: 'deadline'; budgetSeconds: number } | { kind: 'hangup' };

// After its deadline, a scrape whose departure ends the collection waits this long for the aborted
// collection's own answer (what was complete: the inventory families) before answering without it.
// Aborted calls settle within milliseconds; this only bounds the wait if one did not.
const ABORT_GRACE_MS = 250;

/** How long a collection may run on once the scrapes waiting for it have answered without it. */
export interface RunOn {
  /** Seconds from the collection's start (within the cap). */
  seconds: number;
  /** The setting behind it, named when it ends the collection. */
  source: string;
}

/**
 * One collection shared by every scrape that waits for it. Each scrape waits at most its own
 * deadline; the collection runs until the latest deadline of its waiters (never past `capSeconds`
 * after it started) or until no waiter is left, so a short scrape never cuts a longer one's work.
 * With `runOn`, a scrape whose deadline passes leaves the collection running to `runOn.seconds`
 * after its start (its waiters' later deadlines still extend it), so a collection slower than
 * every scrape still finishes for the next one; only its deadline, abort(), or every waiter hanging
 * up before any deadline passed ends it early.
 */
export class SharedCollection<T> {
  /** Settles with what `run` returns. */
  readonly result: Promise<T>;
  private readonly ac = new AbortController();
  private readonly startedAt = performance.now();
  private deadlineAt = 0;
  private deadlineSource = '';
  private deadlineSecs = 0;
  private timer: NodeJS.Timeout | undefined;
  private waiters = 0;
  private joined = false;
  /** Set once a scrape left at its deadline: the collection now runs to its own end for the next one. */
  private runningOn = false;
  private readonly runOnAt: number;
  /** Seconds from the start to runOnAt, as configured: recomputing it from the two clock readings can round below. */
  private readonly runOnSeconds: number;
  private done = false;

  /**
   * Starts `run` at once. It must stop when the controller's signal aborts (deadline, every waiter
   * gone, or abort()); it may abort the controller itself when nobody will read its remaining work.
   * `run` may read its deadline (seconds from its start) at any time, e.g. to report it, and
   * whether any scrape still waits for it (an aborted collection nobody waits for need not be encoded).
   * `onEnded` runs when its deadline passes or its last waiter leaves, so a later scrape starts afresh.
   * `capSource` names the setting behind `capSeconds`, for the message when the cap cuts it.
   */
  constructor(
    run: (ac: AbortController, deadline: () => Budget, wanted: () => boolean) => Promise<T>,
    private readonly capSeconds: number,
    private readonly onEnded: () => void,
    private readonly capSource = 'the collection cap',
    private readonly runOn?: RunOn,
  ) {
    const runOnSeconds = runOn ? Math.min(runOn.seconds, capSeconds) : 0;
    this.runOnSeconds = runOnSeconds;
    this.runOnAt = runOn ? this.startedAt + runOnSeconds * 1000 : 0;
    if (runOn) this.timer = setTimeout(() => this.expire(), runOnSeconds * 1000);
    // Every collector's in-flight requests listen on this one signal (8 collectors × perf
    // concurrency); Node's default of 10 listeners would warn about a leak that is not one.
    setMaxListeners(256, this.ac.signal);
    this.result = run(
      this.ac,
      () => ({ seconds: this.deadlineSeconds, source: this.deadlineSource || this.capSource }),
      () => this.waiters > 0,
    ).finally(() => {
      this.done = true;
      clearTimeout(this.timer);
    });
  }

  /** Seconds from the start to the collection's deadline as extended so far (the cap before any waiter). */
  get deadlineSeconds(): number {
    return this.deadlineAt === 0 ? this.capSeconds : this.deadlineSecs;
  }

  /** Seconds since the collection started. */
  get elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
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
   * `source` says where the budget came from, for the message when this deadline ends the collection.
   * `waitSeconds` (run-on only) lets the scrape leave earlier while still extending the deadline.
   */
  join(
    budgetSeconds: number,
    signal?: AbortSignal,
    source = 'the scrape deadline',
    waitSeconds = budgetSeconds,
  ): Promise<T | Departure> {
    if (signal?.aborted) return Promise.resolve({ kind: 'hangup' });
    if (this.done) return this.result;
    this.waiters++;
    const now = performance.now();
    const deadline = now + budgetSeconds * 1000;
    // The scrape that started the collection has its budget as the deadline (the µs since the start
    // do not count); one that joined a running collection moves it past its own budget: say so.
    if (!this.joined) this.extend(budgetSeconds, source, this.startedAt + budgetSeconds * 1000);
    else {
      const late = (now - this.startedAt) / 1000;
      this.extend(
        late + budgetSeconds,
        `${source}, for a scrape that joined ${late.toFixed(1)} s in`,
        deadline,
      );
    }
    this.joined = true;
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
        if (--this.waiters === 0 && !this.runningOn)
          this.end('every scrape waiting for this collection hung up');
      };
      const onAbort = (): void => {
        leave();
        cleanup();
        resolve({ kind: 'hangup' });
      };
      const timer = setTimeout(
        () => {
          const answer = (): void => {
            leave();
            cleanup();
            resolve({ kind: 'deadline', budgetSeconds });
          };
          // A shorter scrape answers now and the collection goes on for the others, or runs on for
          // the next scrape. The longest (or last) waiter ends the collection instead, and takes its
          // answer: what was complete.
          if (deadline < this.endAt && (this.waiters > 1 || this.runOn)) {
            if (this.runOn) this.runningOn = true;
            return answer();
          }
          if (deadline >= this.endAt) this.expire();
          else this.end('every other scrape waiting for this collection hung up or reached its deadline');
          // A collection that already ran on past an earlier scrape is cut for good: its remains are
          // not worth a wait (at 50,000 VMs encoding them outlasts the scrape's last half second).
          if (this.runningOn) return answer();
          grace = setTimeout(answer, ABORT_GRACE_MS);
        },
        Math.min(waitSeconds, budgetSeconds) * 1000,
      );
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

  /** When the collection is ended: its waiters' latest deadline, or its run-on end if later. */
  private get endAt(): number {
    return Math.max(this.deadlineAt, this.runOnAt);
  }

  /** Moves the deadline to `at` (`seconds` after the start), if later, within the cap. */
  private extend(seconds: number, source: string, at: number): void {
    const capped = seconds > this.capSeconds;
    const next = capped ? this.startedAt + this.capSeconds * 1000 : at;
    if (next <= this.deadlineAt) return;
    this.deadlineAt = next;
    this.deadlineSecs = capped ? this.capSeconds : Math.round(seconds * 1000) / 1000;
    this.deadlineSource = capped ? this.capSource : source;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.expire(), Math.max(0, this.endAt - performance.now()));
  }

  private expire(): void {
    if (this.runOn && this.runOnAt > this.deadlineAt) {
      const secs = this.runOnSeconds;
      const source = secs < this.runOn.seconds ? this.capSource : this.runOn.source;
      this.end(
        `collection deadline of ${secs.toFixed(1)} s reached (${source}; it ran on after its scrapes answered)`,
      );
    } else
      this.end(
        `collection deadline of ${this.deadlineSeconds.toFixed(1)} s reached (${this.deadlineSource})`,
      );
  }

  /** Aborts a collection nobody will wait for any more; a later scrape starts a fresh one. */
  private end(reason: string): void {
    if (this.done || this.ac.signal.aborted) return;
    this.abort(reason);
    this.onEnded();
  }
}
