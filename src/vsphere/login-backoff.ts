import { createHash } from 'node:crypto';
import type { Password } from './credentials.js';
import type { VsphereError } from './errors.js';

const START_MS = 15_000;
const MAX_MS = 600_000;

/**
 * Refused logins back off (15 s, doubling to 10 min) per password: retrying a password vCenter
 * already refused would only lock the account, while a changed password (file rotated or fixed)
 * is worth trying at once. A login that failed whatever the password (an answer without a session
 * cookie) backs off every password alike. Only a digest of the password is kept.
 */
export class LoginBackoff {
  private failure:
    { error: VsphereError; notBefore: number; backoffMs: number; digest: string | undefined } | undefined;

  constructor(private readonly now: () => number) {}

  /** The earlier failure to repeat when `password` (or every password) is still waiting. */
  blocked(password: Password): VsphereError | undefined {
    const f = this.failure;
    if (!f || this.now() >= f.notBefore) return undefined;
    return f.digest === undefined || f.digest === digest(password) ? f.error : undefined;
  }

  /** Records a refusal of `password`; returns the wait before it is tried again, in ms. */
  refused(password: Password, error: VsphereError): number {
    return this.record(digest(password), error);
  }

  /** Records a failed login that no other password would fix; returns the wait before any next try, in ms. */
  failed(error: VsphereError): number {
    return this.record(undefined, error);
  }

  /** A login succeeded: the next refusal starts from the shortest wait again. */
  succeeded(): void {
    this.failure = undefined;
  }

  private record(key: string | undefined, error: VsphereError): number {
    const backoffMs = this.failure ? Math.min(this.failure.backoffMs * 2, MAX_MS) : START_MS;
    this.failure = { error, notBefore: this.now() + backoffMs, backoffMs, digest: key };
    return backoffMs;
  }
}

function digest(password: Password): string {
  return createHash('sha256').update(password.reveal()).digest('hex');
}
