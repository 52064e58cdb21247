import type { Logger } from 'pino';
import { describe } from './keepalive.js';
import { failureCause, loginProblem } from './login-problem.js';
import { isVsphereError } from './errors.js';

/**
 * Says in the log why logins fail, without a scrape having to ask: the first failure of each cause
 * once (a vCenter down for an hour is one line, not one per scrape), again when the cause changes,
 * and once when a login works again. Refused passwords are logged by the session itself (they
 * also carry the back-off), so they only count as a cause here.
 */
export class LoginFailureLog {
  private cause: string | undefined;
  private problem: string | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly user: string,
    private readonly url: URL | undefined,
  ) {}

  /** The last failed login's problem text (with its hint), until a login succeeds. */
  get lastProblem(): string | undefined {
    return this.problem;
  }

  /** Records a failed login attempt; logs it when its cause differs from the last one. */
  failed(e: unknown, loggedElsewhere: boolean): void {
    // Shutdown aborting a login is no failure of vCenter.
    if (isVsphereError(e, 'VSPHERE_ABORTED') || isVsphereError(e, 'VSPHERE_CLOSED')) return;
    const cause = failureCause(e);
    this.problem = this.url ? loginProblem(e, this.user, this.url) : describe(e).message;
    if (cause === this.cause) return;
    this.cause = cause;
    if (loggedElsewhere) return;
    this.logger.error({ cause, error: describe(e), hint: this.problem }, 'vCenter login failed');
  }

  /** Records a successful login; logs the recovery when failures were seen before. */
  succeeded(): void {
    if (this.cause !== undefined) {
      this.logger.info({ previousCause: this.cause }, 'vCenter login works again');
    }
    this.cause = undefined;
    this.problem = undefined;
  }
}
