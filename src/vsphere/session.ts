import type { Password } from './credentials.js';
import { el } from './soap/envelope.js';
import { child, type XmlNode } from './soap/xml.js';
import { LoginGate, type LoginCredentials } from './login-gate.js';
import { LoginFlight } from './login-flight.js';
import { endOrphanSession, orphanCookies } from './orphan-session.js';
import { waitFor } from './waits.js';
import { isVsphereError, VsphereError } from './errors.js';
import type { SoapTransport } from './soap/transport.js';
import { retrieveServiceContent, type ServiceContent } from './service-content.js';
import { sessionAlive } from './session-check.js';
import { describe, Keepalive } from './keepalive.js';
import { LoginFailureLog } from './login-log.js';

export { describe } from './keepalive.js';

/** What the session needs from the outside world. */
export interface SessionOptions extends LoginCredentials {
  keepaliveIntervalMs: number;
  /** Deadline of one login attempt (password, ServiceContent, Login): a trickled answer is abandoned then. */
  loginTimeoutMs?: number;
  /** The target's URL, named in the hints of failed-login log lines. */
  url?: URL;
}

/** Login bookkeeping exposed as metrics. */
export interface SessionStats {
  logins: number;
  loginFailures: number;
  relogins: number;
}

// Bound of the Logout of a session given up before a re-login (on top of the login deadline).
const OLD_LOGOUT_MS = 2000;

/**
 * One persistent vCenter session: a single Login shared by concurrent callers, a CurrentTime
 * keepalive while idle, at most one re-login per NotAuthenticated call, Logout on close.
 */
export class Session {
  /** Incremented at each successful login; objects created under an older generation are gone. */
  generation = 0;
  readonly stats: SessionStats = { logins: 0, loginFailures: 0, relogins: 0 };
  content: ServiceContent | undefined;
  /** UserSession.loginTime of the current session as vCenter sent it (its clock, not ours). */
  loginTime: string | undefined;
  private loggedIn = false;
  private readonly flight: LoginFlight<void>;
  /** The session check of recover() in progress, shared by every call that failed under `generation`. */
  private check: { generation: number; valid: Promise<boolean> } | undefined;
  private readonly keepalive: Keepalive;
  private readonly gate: LoginGate;
  private readonly failures: LoginFailureLog;
  /** The last login error attempt() logged itself. */
  private logged: unknown;

  constructor(
    private readonly transport: SoapTransport,
    private readonly opts: SessionOptions,
  ) {
    this.gate = new LoginGate(opts, 'vCenter rejected the login');
    this.failures = new LoginFailureLog(opts.logger, opts.user, opts.url);
    this.keepalive = new Keepalive(transport, opts.keepaliveIntervalMs, opts.logger, opts.now ?? Date.now);
    this.flight = new LoginFlight({
      what: 'session',
      timeoutMs: opts.loginTimeoutMs,
      // Refused passwords and cookie-less answers were logged (with their back-off) by attempt().
      settled: (e) =>
        e === undefined ? this.failures.succeeded() : this.failures.failed(e, e === this.logged),
    });
  }

  /** Why the last login failed, with a hint at the fix; undefined once one succeeds. */
  get loginProblem(): string | undefined {
    return this.failures.lastProblem;
  }

  /** True once a login has succeeded and no NotAuthenticated has been seen since. */
  get isLoggedIn(): boolean {
    return this.loggedIn;
  }

  /** Resolves when a valid session exists, logging in (once, shared) if needed. */
  async ensure(signal?: AbortSignal): Promise<ServiceContent> {
    this.flight.assertOpen();
    this.keepalive.touch();
    // Concurrent first scrapes share one login attempt.
    if (!this.loggedIn) await this.flight.join((s) => this.attempt(s), signal);
    if (!this.content) throw new VsphereError('VSPHERE_NOT_AUTHENTICATED', 'no session');
    return this.content;
  }

  /**
   * Called after `NotAuthenticated` from a call made under `generation`: confirms the session is
   * really gone (one method can refuse while the session lives) and logs in again at most once.
   * Returns true when the caller should retry its call.
   */
  async recover(generation: number, signal?: AbortSignal): Promise<boolean> {
    if (this.flight.closed) return false;
    if (generation === this.generation && this.loggedIn) {
      // Calls failing together (parallel QueryPerf after a TerminateSession) share one check, so
      // one lost session is one re-login: separate checks each counted a re-login, and a check
      // answering after another caller's new Login would have logged in again, orphaning that session.
      let check = this.check;
      if (check?.generation !== generation) {
        const valid: Promise<boolean> = this.alive(signal)
          .then((ok) => {
            if (!ok && generation === this.generation && this.loggedIn) {
              this.opts.logger.info(
                { generation },
                'vCenter session expired or was terminated; logging in again',
              );
              this.loggedIn = false;
              this.stats.relogins++;
            }
            return ok;
          })
          .finally(() => {
            if (this.check?.valid === valid) this.check = undefined;
          });
        check = this.check = { generation, valid };
      }
      if (await waitFor(check.valid, signal, 'deadline reached while checking the vCenter session'))
        return false;
    }
    await this.ensure(signal);
    return true;
  }

  /** Records activity so the keepalive stays quiet while scrapes keep the session busy. */
  touch(): void {
    this.keepalive.touch();
  }

  /**
   * Logs out and stops the keepalive, all by `deadline` (ms since the epoch); later calls fail with
   * VSPHERE_CLOSED. A login in flight gets half of the time left to land (and be logged out), then is
   * abandoned; a session its answer already named is logged out too.
   */
  async close(deadline = Date.now() + 2000): Promise<void> {
    if (this.flight.closed) return;
    this.keepalive.stop();
    await this.flight.close(deadline);
    if (this.loggedIn && this.content) {
      this.loggedIn = false;
      try {
        await this.transport.call('Logout', this.content.sessionManager, '', {
          signal: this.flight.closeSignal,
        });
        this.opts.logger.info('logged out of vCenter');
      } catch (e) {
        this.opts.logger.warn({ error: describe(e) }, 'vCenter Logout failed');
      }
    }
    this.transport.clearSession();
  }

  private async attempt(signal: AbortSignal): Promise<void> {
    let password: Password;
    try {
      password = await this.gate.password(signal);
    } catch (e) {
      this.stats.loginFailures++;
      throw e;
    }
    this.gate.check(password);
    let setCookie: string[] = [];
    let answer: XmlNode | undefined;
    try {
      this.content ??= await retrieveServiceContent(this.transport, signal);
      if (this.transport.hasSession) {
        // The session we gave up on may still live on vCenter (one method refusing while the session
        // is fine): end it, or every such re-login would leave one more session behind.
        await this.transport
          .call('Logout', this.content.sessionManager, '', {
            signal: AbortSignal.any([signal, AbortSignal.timeout(OLD_LOGOUT_MS)]),
          })
          .catch(() => undefined);
      }
      this.transport.clearSession();
      answer = await this.transport.call(
        'Login',
        this.content.sessionManager,
        el('userName', this.opts.user) + el('password', password.reveal()),
        { captureCookie: true, signal, onSetCookie: (lines) => (setCookie = lines) },
      );
    } catch (e) {
      // Cut after its headers (deadline, shutdown, dropped connection): if they named a session,
      // it exists on vCenter and nobody else can end it. A fault answer created none.
      const cookies = orphanCookies(setCookie, true);
      if (cookies.length > 0 && !(isVsphereError(e) && e.faultType !== undefined)) {
        await this.endOrphan(cookies, 'Login answer cut off', true);
      }
      if (isVsphereError(e, 'VSPHERE_INVALID_LOGIN')) {
        this.stats.loginFailures++;
        this.gate.refused(password, e);
        this.logged = e;
      } else if (isVsphereError(e)) {
        this.stats.loginFailures++;
        // vCenter unreachable or restarting: its ServiceContent may change (new instance), fetch it again.
        this.content = undefined;
      }
      throw e;
    }
    if (!this.transport.hasSession) await this.noCookie(setCookie);
    this.loginTime = (answer && child(answer, 'returnval'))?.children.find(
      (c) => c.name === 'loginTime',
    )?.text;
    this.gate.succeeded();
    this.loggedIn = true;
    this.generation++;
    this.stats.logins++;
    this.opts.logger.info(
      { user: this.opts.user, apiVersion: this.transport.apiVersion },
      'logged in to vCenter',
    );
    // A login that lands while close() waits for it must not restart the keepalive close() stopped.
    if (!this.flight.closed) this.keepalive.start(() => this.loggedIn);
  }

  /**
   * Login succeeded but its answer kept no session cookie (a proxy renamed or dropped it): the
   * session exists on vCenter yet cannot be used, so end it if any cookie allows, and back off like
   * a refused login (every scrape logging in again would pile up sessions until vCenter refuses).
   */
  private async noCookie(setCookie: string[]): Promise<never> {
    this.stats.loginFailures++;
    const error = new VsphereError(
      'VSPHERE_BAD_RESPONSE',
      'Login: the answer carried no vmware_soap_session cookie (renamed or dropped by a proxy between?); the session cannot be used',
      { method: 'Login' },
    );
    const ended = await this.endOrphan(orphanCookies(setCookie), 'Login answer without a session cookie');
    const backoffMs = this.gate.failed(error);
    this.opts.logger.error(
      { user: this.opts.user, retryInSeconds: backoffMs / 1000, sessionLoggedOut: ended },
      'vCenter Login answer had no session cookie; login failed',
    );
    this.logged = error;
    throw error;
  }

  /** Whether vCenter still knows the session (throws when it cannot tell). */
  private alive(signal?: AbortSignal): Promise<boolean> {
    return this.content ? sessionAlive(this.transport, this.content, signal) : Promise.resolve(false);
  }

  /** Logs out a session the exporter cannot use (bounded, and by the shutdown deadline once closing). */
  private endOrphan(cookies: string[], why: string, own = false): Promise<boolean> {
    if (!this.content) return Promise.resolve(false);
    const outer = this.flight.closeSignal;
    return endOrphanSession(this.transport, this.content.sessionManager, cookies, {
      why,
      own,
      user: this.opts.user,
      logger: this.opts.logger,
      ...(outer && { outer }),
    });
  }
}
