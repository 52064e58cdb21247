import type { Logger } from 'pino';
import type { Secret } from '../config/secret.js';
import { el } from './soap/envelope.js';
import { LoginBackoff } from './login-backoff.js';
import { endOrphanSession, orphanCookies } from './orphan-session.js';
import { msLeft, until, waitFor } from './waits.js';
import { isVsphereError, VsphereError } from './soap/errors.js';
import type { SoapTransport } from './soap/transport.js';
import { child, type XmlNode } from './soap/xml.js';
import { retrieveServiceContent, type ServiceContent } from './service-content.js';
import { describe, Keepalive } from './keepalive.js';
import { LoginFailureLog } from './login-log.js';

export { describe } from './keepalive.js';

/** What the session needs from the outside world. */
export interface SessionOptions {
  user: string;
  /** Read at every login attempt, so a rotated or fixed password file needs no restart. */
  password: () => Promise<Secret>;
  keepaliveIntervalMs: number;
  /** Deadline of one login attempt (password, ServiceContent, Login): a trickled answer is abandoned then. */
  loginTimeoutMs?: number;
  logger: Logger;
  /** The target's URL, named in the hints of failed-login log lines. */
  url?: URL;
  now?: () => number;
}

/** Login bookkeeping exposed as metrics. */
export interface SessionStats {
  logins: number;
  loginFailures: number;
  relogins: number;
}

const LOGIN_TIMEOUT_MS = 30_000;
// Bound of the Logout of a session given up before a re-login (on top of the login deadline).
const OLD_LOGOUT_MS = 2000;

// vCenter SSO locks an account after 5 failed logins in 180 s (default policy): back off so that
// at most 4 attempts fall in any 180 s window (15 s, 30 s, 60 s, … between attempts).

/**
 * One persistent vCenter session: a single Login shared by concurrent callers, a CurrentTime
 * keepalive while idle, at most one re-login per NotAuthenticated call, Logout on close.
 */
export class Session {
  /** Incremented at each successful login; objects created under an older generation are gone. */
  generation = 0;
  readonly stats: SessionStats = { logins: 0, loginFailures: 0, relogins: 0 };
  content: ServiceContent | undefined;
  private loggedIn = false;
  private inflight: Promise<void> | undefined;
  /** Aborts the login in flight (shutdown). */
  private loginAbort: AbortController | undefined;
  /** Fires at the shutdown deadline; bounds the Logout of a session an aborted Login left. */
  private closeSignal: AbortSignal | undefined;
  /** The session check of recover() in progress, shared by every call that failed under `generation`. */
  private check: { generation: number; valid: Promise<boolean> } | undefined;
  private readonly keepalive: Keepalive;
  private closed = false;
  private readonly backoff: LoginBackoff;
  private readonly failures: LoginFailureLog;
  /** The last login error attempt() logged itself. */
  private logged: unknown;
  private readonly now: () => number;

  constructor(
    private readonly transport: SoapTransport,
    private readonly opts: SessionOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.backoff = new LoginBackoff(this.now);
    this.failures = new LoginFailureLog(opts.logger, opts.user, opts.url);
    this.keepalive = new Keepalive(transport, opts.keepaliveIntervalMs, opts.logger, this.now);
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
    if (this.closed) throw new VsphereError('VSPHERE_CLOSED', 'session is closed');
    this.keepalive.touch();
    if (!this.loggedIn) {
      // Concurrent first scrapes share one login attempt.
      this.inflight ??= this.login().finally(() => {
        this.inflight = undefined;
      });
      await waitFor(this.inflight, signal, 'deadline reached while waiting for login');
    }
    if (!this.content) throw new VsphereError('VSPHERE_NOT_AUTHENTICATED', 'no session');
    return this.content;
  }

  /**
   * Called after `NotAuthenticated` from a call made under `generation`: confirms the session is
   * really gone (one method can refuse while the session lives) and logs in again at most once.
   * Returns true when the caller should retry its call.
   */
  async recover(generation: number, signal?: AbortSignal): Promise<boolean> {
    if (this.closed) return false;
    if (generation === this.generation && this.loggedIn) {
      // Calls failing together (parallel QueryPerf after a TerminateSession) share one check, so
      // one lost session is one re-login: separate checks each counted a re-login, and a check
      // answering after another caller's new Login would have logged in again, orphaning that session.
      let check = this.check;
      if (check?.generation !== generation) {
        const valid: Promise<boolean> = this.stillValid(signal)
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
    if (this.closed) return;
    this.closed = true;
    this.keepalive.stop();
    this.closeSignal = AbortSignal.timeout(msLeft(deadline));
    const login = this.inflight;
    if (login) {
      await until(login, Date.now() + msLeft(deadline) / 2);
      this.loginAbort?.abort(new Error('exporter shutting down'));
      // Its answer may have named a session: the abandoned login logs it out by the deadline.
      await until(login, deadline);
    }
    if (this.loggedIn && this.content) {
      this.loggedIn = false;
      try {
        await this.transport.call('Logout', this.content.sessionManager, '', { signal: this.closeSignal });
        this.opts.logger.info('logged out of vCenter');
      } catch (e) {
        this.opts.logger.warn({ error: describe(e) }, 'vCenter Logout failed');
      }
    }
    this.transport.clearSession();
  }

  private async login(): Promise<void> {
    const abort = (this.loginAbort = new AbortController());
    const timeoutMs = this.opts.loginTimeoutMs ?? LOGIN_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      await this.attempt(AbortSignal.any([abort.signal, timeout]));
      this.failures.succeeded();
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
      // Refused passwords and cookie-less answers were logged (with their back-off) by attempt().
      this.failures.failed(err, err === this.logged);
      throw err;
    } finally {
      if (this.loginAbort === abort) this.loginAbort = undefined;
    }
  }

  private async attempt(signal: AbortSignal): Promise<void> {
    let password: Secret;
    try {
      password = await waitFor(this.opts.password(), signal, 'deadline reached while reading the password');
    } catch (e) {
      this.stats.loginFailures++;
      // The file vanished, became unreadable or blocks (a FIFO without writer) after start: say so,
      // without guessing at vCenter.
      throw new VsphereError(
        'VSPHERE_PASSWORD_UNREADABLE',
        e instanceof Error ? e.message.replace(/^config error: /, '') : String(e),
      );
    }
    const refused = this.backoff.blocked(password);
    if (refused) throw refused;
    let setCookie: string[] = [];
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
      await this.transport.call(
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
        const backoffMs = this.backoff.refused(password, e);
        this.opts.logger.error(
          { user: this.opts.user, retryInSeconds: backoffMs / 1000 },
          'vCenter rejected the login',
        );
        this.logged = e;
      } else if (isVsphereError(e)) {
        this.stats.loginFailures++;
        // vCenter unreachable or restarting: its ServiceContent may change (new instance), fetch it again.
        this.content = undefined;
      }
      throw e;
    }
    if (!this.transport.hasSession) await this.noCookie(setCookie);
    this.backoff.succeeded();
    this.loggedIn = true;
    this.generation++;
    this.stats.logins++;
    this.opts.logger.info(
      { user: this.opts.user, apiVersion: this.transport.apiVersion },
      'logged in to vCenter',
    );
    // A login that lands while close() waits for it must not restart the keepalive close() stopped.
    if (!this.closed) this.keepalive.start(() => this.loggedIn);
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
    const backoffMs = this.backoff.failed(error);
    this.opts.logger.error(
      { user: this.opts.user, retryInSeconds: backoffMs / 1000, sessionLoggedOut: ended },
      'vCenter Login answer had no session cookie; login failed',
    );
    this.logged = error;
    throw error;
  }

  private async stillValid(signal?: AbortSignal): Promise<boolean> {
    if (!this.content) return false;
    try {
      // Straight on the transport, not retrieveOne(): that goes through VimClient.invoke, whose
      // NotAuthenticated handling would call back into recover().
      const res = await this.transport.call(
        'RetrievePropertiesEx',
        this.content.propertyCollector,
        '<specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet>' +
          `<objectSet><obj type="SessionManager">${this.content.sessionManager.value}</obj></objectSet></specSet><options/>`,
        { signal },
      );
      // An expired session reads currentSession as unset rather than failing.
      const objects = child(res, 'returnval') && child(child(res, 'returnval') as XmlNode, 'objects');
      return objects !== undefined && child(objects, 'propSet') !== undefined;
    } catch (e) {
      if (isVsphereError(e, 'VSPHERE_NOT_AUTHENTICATED')) return false;
      // Unknown (timeout, network, abort): logging in again would orphan a session that may well
      // still be alive on vCenter, so fail this call instead and let the next scrape find out.
      throw e;
    }
  }

  /** Logs out a session the exporter cannot use (bounded, and by the shutdown deadline once closing). */
  private endOrphan(cookies: string[], why: string, own = false): Promise<boolean> {
    if (!this.content) return Promise.resolve(false);
    return endOrphanSession(this.transport, this.content.sessionManager, cookies, {
      why,
      own,
      user: this.opts.user,
      logger: this.opts.logger,
      ...(this.closeSignal && { outer: this.closeSignal }),
    });
  }
}
