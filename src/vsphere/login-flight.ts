import { isVsphereError, VsphereError } from './errors.js';
import { msLeft, until, waitFor } from './waits.js';

/** A login (password, then vCenter's answers) is given this long when the caller says nothing. */
export const LOGIN_TIMEOUT_MS = 30_000;

/** What one session's logins are called and bounded by. */
export interface LoginFlightOptions {
  /** Names the session in VSPHERE_CLOSED errors (`session`, `REST session`). */
  what: string;
  /** Deadline of one login attempt: a trickled answer is abandoned then. */
  timeoutMs?: number | undefined;
  /** Told how each attempt ended (undefined: it succeeded), deadline errors already named as such. */
  settled?: (error?: unknown) => void;
}

/**
 * The lifecycle the SOAP and the vAPI session share: one login at a time, shared by every caller
 * (each waits by its own deadline; the login runs under its own, so one impatient scrape does not
 * cut it for the others), nothing once closed, and at close a login in flight gets half the time
 * left to land before it is aborted.
 */
export class LoginFlight<T> {
  private inflight: Promise<T> | undefined;
  private abort: AbortController | undefined;
  private closing: AbortSignal | undefined;

  constructor(private readonly opts: LoginFlightOptions) {}

  /** True once close() was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Fires at the close deadline: bounds the Logout of a session an aborted login left. */
  get closeSignal(): AbortSignal | undefined {
    return this.closing;
  }

  /** Throws VSPHERE_CLOSED once closed. */
  assertOpen(): void {
    if (this.closed) throw new VsphereError('VSPHERE_CLOSED', `${this.opts.what} is closed`);
  }

  /** Runs `attempt` once for every caller until it settles; `signal` bounds only this caller's wait. */
  join(attempt: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.assertOpen();
    this.inflight ??= this.run(attempt).finally(() => {
      this.inflight = undefined;
    });
    return waitFor(this.inflight, signal, 'deadline reached while waiting for login');
  }

  /**
   * Marks the session closed and settles a login in flight by `deadline` (ms since the epoch):
   * half of the time left to land (its session is then logged out by the caller), then aborted.
   */
  async close(deadline: number): Promise<void> {
    if (this.closed) return;
    this.closing = AbortSignal.timeout(msLeft(deadline));
    const login = this.inflight;
    if (!login) return;
    await until(login, Date.now() + msLeft(deadline) / 2);
    this.abort?.abort(new Error('exporter shutting down'));
    // Its answer may have named a session: the abandoned login ends it by the deadline.
    await until(login, deadline);
  }

  private async run(attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = (this.abort = new AbortController());
    const timeoutMs = this.opts.timeoutMs ?? LOGIN_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const value = await attempt(AbortSignal.any([abort.signal, timeout]));
      this.opts.settled?.();
      return value;
    } catch (e) {
      const err =
        timeout.aborted && isVsphereError(e, 'VSPHERE_ABORTED')
          ? // A Login answer trickled byte by byte never trips the per-chunk body timeout: this does,
            // so the next scrape tries again instead of waiting behind a login that may never end.
            new VsphereError(
              'VSPHERE_TIMEOUT',
              `${e.method ?? 'Login'}: no complete answer from vCenter within the login deadline of ${timeoutMs / 1000} s`,
              { method: e.method ?? 'Login', cause: e },
            )
          : e;
      this.opts.settled?.(err);
      throw err;
    } finally {
      if (this.abort === abort) this.abort = undefined;
    }
  }
}
