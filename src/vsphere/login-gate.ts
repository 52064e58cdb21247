import type { Logger } from 'pino';
import type { Password, PasswordSource } from './credentials.js';
import { LoginBackoff } from './login-backoff.js';
import type { SecretScrubber } from './secret-scrub.js';
import { VsphereError } from './errors.js';
import { waitFor } from './waits.js';

/** Who logs in to a target, the same for its SOAP and its vAPI (REST) session. */
export interface LoginCredentials {
  user: string;
  /** Read at every login attempt, so a rotated or fixed password file needs no restart. */
  password: PasswordSource;
  logger: Logger;
  /** Remembers every password read, so vCenter's texts are scrubbed of it before anyone sees them. */
  scrubber?: SecretScrubber | undefined;
  now?: (() => number) | undefined;
}

/**
 * What every login does before and after asking vCenter: read the password by the login's deadline,
 * hold back a password vCenter refused while its back-off runs, and log a refusal with the wait.
 * vCenter SSO locks an account after 5 failed logins in 180 s (default policy), for SOAP and REST alike.
 */
export class LoginGate {
  private readonly backoff: LoginBackoff;

  constructor(
    private readonly creds: LoginCredentials,
    /** The message of the log line of a refused login, naming the API refused. */
    private readonly refusedMessage: string,
  ) {
    this.backoff = new LoginBackoff(creds.now ?? Date.now);
  }

  /**
   * Reads the password for one attempt; VSPHERE_PASSWORD_UNREADABLE when it cannot be read (the
   * file vanished, became unreadable, or blocks past the deadline: a FIFO without writer).
   */
  async password(signal: AbortSignal): Promise<Password> {
    try {
      const password = await waitFor(
        this.creds.password.read(signal),
        signal,
        'deadline reached while reading the password',
      );
      return this.creds.scrubber ? this.creds.scrubber.remember(password) : password;
    } catch (e) {
      throw new VsphereError('VSPHERE_PASSWORD_UNREADABLE', e instanceof Error ? e.message : String(e));
    }
  }

  /** Throws vCenter's earlier refusal while `password` (or every password) is held back. */
  check(password: Password): void {
    const refused = this.backoff.blocked(password);
    if (refused) throw refused;
  }

  /** Records vCenter's refusal of `password` and logs it with the wait before it is tried again. */
  refused(password: Password, error: VsphereError): void {
    const backoffMs = this.backoff.refused(password, error);
    this.creds.logger.error({ user: this.creds.user, retryInSeconds: backoffMs / 1000 }, this.refusedMessage);
  }

  /** Records a failed login no other password would fix; returns the wait before any next try, in ms. */
  failed(error: VsphereError): number {
    return this.backoff.failed(error);
  }

  /** A login succeeded: the next refusal starts from the shortest wait again. */
  succeeded(): void {
    this.backoff.succeeded();
  }
}
