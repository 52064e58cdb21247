import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Secret } from '../config/secret.js';
import { el } from './soap/envelope.js';
import { LoginBackoff } from './login-backoff.js';
import { isVsphereError, VsphereError } from './soap/errors.js';
import type { SoapTransport } from './soap/transport.js';
import { child, type XmlNode } from './soap/xml.js';
import { retrieveServiceContent, SERVICE_INSTANCE, type ServiceContent } from './service-content.js';

/** What the session needs from the outside world. */
export interface SessionOptions {
  user: string;
  /** Read at every login attempt, so a rotated or fixed password file needs no restart. */
  password: () => Promise<Secret>;
  keepaliveIntervalMs: number;
  logger: Logger;
  now?: () => number;
}

/** Login bookkeeping exposed as metrics. */
export interface SessionStats {
  logins: number;
  loginFailures: number;
  relogins: number;
}

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
  /** The session check of recover() in progress, shared by every call that failed under `generation`. */
  private check: { generation: number; valid: Promise<boolean> } | undefined;
  private lastUse = 0;
  private keepalive: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly backoff: LoginBackoff;
  private readonly now: () => number;

  constructor(
    private readonly transport: SoapTransport,
    private readonly opts: SessionOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.backoff = new LoginBackoff(this.now);
  }

  /** True once a login has succeeded and no NotAuthenticated has been seen since. */
  get isLoggedIn(): boolean {
    return this.loggedIn;
  }

  /** Resolves when a valid session exists, logging in (once, shared) if needed. */
  async ensure(signal?: AbortSignal): Promise<ServiceContent> {
    if (this.closed) throw new VsphereError('VSPHERE_CLOSED', 'session is closed');
    this.lastUse = this.now();
    if (!this.loggedIn) {
      // Concurrent first scrapes share one login attempt.
      this.inflight ??= this.login().finally(() => {
        this.inflight = undefined;
      });
      await waitFor(this.inflight, signal);
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
      if (await waitFor(check.valid, signal)) return false;
    }
    await this.ensure(signal);
    return true;
  }

  /** Records activity so the keepalive stays quiet while scrapes keep the session busy. */
  touch(): void {
    this.lastUse = this.now();
  }

  /** Logs out (bounded by `timeoutMs`) and stops the keepalive; later calls fail with VSPHERE_CLOSED. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopKeepalive();
    // A login still in flight (vCenter slow to answer) gets part of the budget, not all of it.
    if (this.inflight) await Promise.race([this.inflight.catch(() => undefined), delay(timeoutMs / 2)]);
    if (this.loggedIn && this.content) {
      this.loggedIn = false;
      try {
        await this.transport.call('Logout', this.content.sessionManager, '', {
          signal: AbortSignal.timeout(timeoutMs),
        });
        this.opts.logger.info('logged out of vCenter');
      } catch (e) {
        this.opts.logger.warn({ error: describe(e) }, 'vCenter Logout failed');
      }
    }
    this.transport.clearSession();
  }

  private async login(): Promise<void> {
    let password: Secret;
    try {
      password = await this.opts.password();
    } catch (e) {
      this.stats.loginFailures++;
      // The file vanished or became unreadable after start: say so, without guessing at vCenter.
      throw new VsphereError(
        'VSPHERE_PASSWORD_UNREADABLE',
        e instanceof Error ? e.message.replace(/^config error: /, '') : String(e),
      );
    }
    const refused = this.backoff.blocked(password);
    if (refused) throw refused;
    try {
      this.content ??= await retrieveServiceContent(this.transport);
      if (this.transport.hasSession) {
        // The session we gave up on may still live on vCenter (one method refusing while the session
        // is fine): end it, or every such re-login would leave one more session behind.
        await this.transport
          .call('Logout', this.content.sessionManager, '', { signal: AbortSignal.timeout(2000) })
          .catch(() => undefined);
      }
      this.transport.clearSession();
      await this.transport.call(
        'Login',
        this.content.sessionManager,
        el('userName', this.opts.user) + el('password', password.reveal()),
        { captureCookie: true },
      );
    } catch (e) {
      if (isVsphereError(e, 'VSPHERE_INVALID_LOGIN')) {
        this.stats.loginFailures++;
        const backoffMs = this.backoff.refused(password, e);
        this.opts.logger.error(
          { user: this.opts.user, retryInSeconds: backoffMs / 1000 },
          'vCenter rejected the login',
        );
      } else if (isVsphereError(e)) {
        this.stats.loginFailures++;
        // vCenter unreachable or restarting: its ServiceContent may change (new instance), fetch it again.
        this.content = undefined;
      }
      throw e;
    }
    this.backoff.succeeded();
    this.loggedIn = true;
    this.generation++;
    this.stats.logins++;
    this.opts.logger.info(
      { user: this.opts.user, apiVersion: this.transport.apiVersion },
      'logged in to vCenter',
    );
    this.startKeepalive();
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

  private startKeepalive(): void {
    this.stopKeepalive();
    const interval = this.opts.keepaliveIntervalMs;
    this.keepalive = setInterval(
      () => {
        if (!this.loggedIn || this.now() - this.lastUse < interval) return;
        // CurrentTime is the cheapest call that refreshes vCenter's idle timer for our session.
        this.transport
          .call('CurrentTime', SERVICE_INSTANCE, '', {
            signal: AbortSignal.timeout(Math.min(interval, 30_000)),
          })
          .then(() => {
            this.lastUse = this.now();
          })
          .catch((e: unknown) => this.opts.logger.warn({ error: describe(e) }, 'vCenter keepalive failed'));
      },
      Math.max(1000, Math.floor(interval / 2)),
    );
    this.keepalive.unref();
  }

  private stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
  }
}

/** Message and code of an error, safe to log (never carries a request body). */
export function describe(e: unknown): { code?: string; message: string } {
  if (e instanceof VsphereError) return { code: e.code, message: e.message };
  return { message: e instanceof Error ? e.message : String(e) };
}

async function waitFor<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new VsphereError('VSPHERE_ABORTED', 'deadline reached while waiting for login'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function delay(ms: number): Promise<void> {
  // unref'd: a pending shutdown wait must not keep the process alive by itself.
  return sleep(ms, undefined, { ref: false });
}
