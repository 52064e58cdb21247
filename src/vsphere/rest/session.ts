import { describe } from '../keepalive.js';
import { LoginFlight } from '../login-flight.js';
import { LoginGate, type LoginCredentials } from '../login-gate.js';
import { SecretScrubber } from '../secret-scrub.js';
import { VsphereError } from '../errors.js';
import { basicAuth, vapiValue } from './response.js';
import type { RestTransport } from './transport.js';

/** What the REST session needs from the outside world. */
export interface RestSessionOptions extends LoginCredentials {
  /** Deadline of one login (password and vCenter's answer). */
  loginTimeoutMs?: number | undefined;
}

const SESSION_PATH = '/rest/com/vmware/cis/session';
const SESSION_HEADER = 'vmware-api-session-id';
// Shutdown budget when the caller gives no deadline.
const CLOSE_MS = 1500;

/**
 * One kept vAPI session (the Automation REST API's own, separate from the SOAP one): a single
 * login shared by concurrent callers, at most one re-login when a call answers 401, and a DELETE
 * of the session on close. The session id is never logged.
 */
export class RestSession {
  private id: string | undefined;
  private readonly flight: LoginFlight<string>;
  private readonly gate: LoginGate;
  /** vCenter's error texts pass here: the passwords sent are removed from them. */
  private readonly scrubber: SecretScrubber;

  constructor(
    private readonly transport: RestTransport,
    private readonly opts: RestSessionOptions,
  ) {
    this.scrubber = opts.scrubber ?? new SecretScrubber();
    this.flight = new LoginFlight({ what: 'REST session', timeoutMs: opts.loginTimeoutMs });
    this.gate = new LoginGate({ ...opts, scrubber: this.scrubber }, 'vCenter rejected the REST login');
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

  /**
   * Deletes the session and closes the transport, all by `deadline` (ms since the epoch); later
   * calls fail with VSPHERE_CLOSED. A login in flight gets half of the time left to land.
   */
  async close(deadline = Date.now() + CLOSE_MS): Promise<void> {
    if (this.flight.closed) return;
    // A login landing after this is deleted by login() itself.
    await this.flight.close(deadline);
    const id = this.id;
    this.id = undefined;
    if (id !== undefined) {
      try {
        await this.delete(id, this.flight.closeSignal);
        this.opts.logger.info('logged out of the vCenter REST session');
      } catch (e) {
        this.opts.logger.warn({ error: describe(e) }, 'vCenter REST session logout failed');
      }
    }
    await this.transport.close();
  }

  private ensure(signal: AbortSignal): Promise<string> {
    this.flight.assertOpen();
    if (this.id !== undefined) return Promise.resolve(this.id);
    return this.flight.join((s) => this.login(s), signal);
  }

  private async login(signal: AbortSignal): Promise<string> {
    const password = await this.gate.password(signal);
    this.gate.check(password);
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
      this.gate.refused(password, error);
      throw error;
    }
    const id = vapiValue(res, label);
    if (typeof id !== 'string' || id === '')
      throw new VsphereError('VSPHERE_BAD_RESPONSE', `${label}: no session id in the answer`, {
        method: label,
      });
    this.scrubber.rememberToken('rest', id);
    this.gate.succeeded();
    if (this.flight.closed) {
      // close() raced the login: do not leave the new session behind on vCenter.
      await this.delete(id, this.flight.closeSignal).catch(() => undefined);
      throw new VsphereError('VSPHERE_CLOSED', 'REST session is closed');
    }
    this.id = id;
    this.opts.logger.info({ user: this.opts.user }, 'logged in to the vCenter REST API');
    return id;
  }

  private async delete(id: string, signal: AbortSignal | undefined): Promise<void> {
    const res = await this.transport.request({
      method: 'DELETE',
      path: SESSION_PATH,
      headers: { [SESSION_HEADER]: id },
      signal,
    });
    vapiValue(res, `DELETE ${SESSION_PATH}`);
  }
}
