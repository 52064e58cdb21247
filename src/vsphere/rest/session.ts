import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Secret } from '../../config/secret.js';
import { LoginBackoff } from '../login-backoff.js';
import { SecretScrubber } from '../secret-scrub.js';
import { waitFor } from '../waits.js';
import { VsphereError } from '../soap/errors.js';
import { basicAuth, vapiValue } from './response.js';
import type { RestTransport } from './transport.js';

/** What the REST session needs from the outside world. */
export interface RestSessionOptions {
  user: string;
  /** Read at every login, so a rotated password file needs no restart. */
  password: () => Promise<Secret>;
  logger: Logger;
  now?: () => number;
}

const SESSION_PATH = '/rest/com/vmware/cis/session';
const SESSION_HEADER = 'vmware-api-session-id';
// The REST login goes to the same SSO as the SOAP one, whose default policy locks an account after
// 5 failures in 180 s: the same back-off as the SOAP session (retry the same password at most 4×/180 s).

/**
 * One kept vAPI session (the Automation REST API's own, separate from the SOAP one): a single
 * login shared by concurrent callers, at most one re-login when a call answers 401, and a DELETE
 * of the session on close. The session id is never logged.
 */
export class RestSession {
  private id: string | undefined;
  private inflight: Promise<string> | undefined;
  private closed = false;
  private readonly backoff: LoginBackoff;
  private readonly now: () => number;
  /** vCenter's error texts pass here: the password sent is removed from them. */
  private readonly scrubber = new SecretScrubber();

  constructor(
    private readonly transport: RestTransport,
    private readonly opts: RestSessionOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.backoff = new LoginBackoff(this.now);
  }

  /** Sends an authenticated request and returns the answer's `value`; one re-login on 401. */
  async call(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    try {
      return await this.callOnce(method, path, body, signal);
    } catch (e) {
      throw this.scrubber.error(e);
    }
  }

  private async callOnce(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<unknown> {
    const label = `${method} ${path.split('?')[0] ?? ''}`;
    const id = await this.ensure(signal);
    let res = await this.transport.request({ method, path, body, signal, headers: { [SESSION_HEADER]: id } });
    if (res.status === 401) {
      // Expired (idle timeout) or deleted by an administrator: log in once more and retry.
      if (this.id === id) {
        this.id = undefined;
        this.opts.logger.info('vCenter REST session expired; logging in again');
      }
      const again = await this.ensure(signal);
      res = await this.transport.request({
        method,
        path,
        body,
        signal,
        headers: { [SESSION_HEADER]: again },
      });
    }
    return vapiValue(res, label);
  }

  /** Deletes the session (bounded by `timeoutMs`) and closes the transport; later calls fail. */
  async close(timeoutMs = 1500): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = AbortSignal.timeout(timeoutMs);
    // A login still in flight gets part of the budget; if it lands after that, login() deletes it.
    if (this.inflight)
      await Promise.race([
        this.inflight.catch(() => undefined),
        sleep(timeoutMs / 2, undefined, { ref: false }),
      ]);
    const id = this.id;
    this.id = undefined;
    if (id !== undefined) {
      try {
        const res = await this.transport.request({
          method: 'DELETE',
          path: SESSION_PATH,
          headers: { [SESSION_HEADER]: id },
          signal: deadline,
        });
        vapiValue(res, `DELETE ${SESSION_PATH}`);
        this.opts.logger.info('logged out of the vCenter REST session');
      } catch (e) {
        this.opts.logger.warn({ error: String(e) }, 'vCenter REST session logout failed');
      }
    }
    await this.transport.close();
  }

  private ensure(signal: AbortSignal): Promise<string> {
    if (this.closed) return Promise.reject(new VsphereError('VSPHERE_CLOSED', 'REST session is closed'));
    if (this.id !== undefined) return Promise.resolve(this.id);
    this.inflight ??= this.login(signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async login(signal: AbortSignal): Promise<string> {
    let password: Secret;
    try {
      // A password file that blocks (a FIFO without writer) must not hold the login past its deadline.
      password = this.scrubber.remember(
        await waitFor(this.opts.password(), signal, 'deadline reached while reading the password'),
      );
    } catch (e) {
      throw new VsphereError(
        'VSPHERE_PASSWORD_UNREADABLE',
        e instanceof Error ? e.message.replace(/^config error: /, '') : String(e),
      );
    }
    const refused = this.backoff.blocked(password);
    if (refused) throw refused;
    const label = `POST ${SESSION_PATH}`;
    const res = await this.transport.request({
      method: 'POST',
      path: SESSION_PATH,
      headers: { authorization: basicAuth(this.opts.user, password.reveal()) },
      signal,
    });
    if (res.status === 401 || res.status === 403) {
      const error = new VsphereError(
        'VSPHERE_INVALID_LOGIN',
        `${label}: vCenter rejected the REST login of ${this.opts.user} (HTTP ${res.status})`,
        { statusCode: res.status, method: label },
      );
      const backoffMs = this.backoff.refused(password, error);
      this.opts.logger.error(
        { user: this.opts.user, retryInSeconds: backoffMs / 1000 },
        'vCenter rejected the REST login',
      );
      throw error;
    }
    const id = vapiValue(res, label);
    if (typeof id !== 'string' || id === '')
      throw new VsphereError('VSPHERE_BAD_RESPONSE', `${label}: no session id in the answer`, {
        method: label,
      });
    this.backoff.succeeded();
    if (this.closed) {
      // close() raced the login: do not leave the new session behind on vCenter.
      await this.transport
        .request({ method: 'DELETE', path: SESSION_PATH, headers: { [SESSION_HEADER]: id } })
        .catch(() => undefined);
      throw new VsphereError('VSPHERE_CLOSED', 'REST session is closed');
    }
    this.id = id;
    this.opts.logger.info({ user: this.opts.user }, 'logged in to the vCenter REST API');
    return id;
  }
}
