import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** What a check concluded; `bcrypt` tells whether a bcrypt comparison was run for it. */
export interface AuthOutcome {
  ok: boolean;
  reason: 'cached' | 'verified' | 'no-credentials' | 'unknown-user' | 'wrong-password' | 'busy';
  bcrypt: boolean;
}

/** One bcrypt comparison of a password against a hash. */
export type Compare = (password: string, hash: string) => Promise<boolean>;

const CACHE_SIZE = 100;

/** Comparisons that may wait behind the running one; beyond, a check answers `busy` without any bcrypt. */
export const MAX_BCRYPT_WAITING = 4;

/**
 * HTTP basic authentication against bcrypt hashes (basic_auth_users). Unknown users cost one bcrypt
 * against a dummy hash as well, so answer times do not tell which user names exist; successful
 * checks are cached under user + SHA-256(password) so a scrape does not cost a bcrypt each time.
 * Beyond one running and MAX_BCRYPT_WAITING waiting comparisons a check is refused as `busy` at once
 * (alike for every user name, so it tells nothing about which exist).
 */
export class BasicAuth {
  private readonly cache = new Map<string, true>();
  // One bcrypt at a time, as exporter-toolkit does: it is CPU work that a flood must not multiply.
  private queue: Promise<unknown> = Promise.resolve();
  // Running plus waiting: bounded, so a flood of wrong guesses cannot delay a login without limit.
  private pending = 0;
  /** bcrypt comparisons run so far (for tests and debugging). */
  bcryptCount = 0;

  private constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly dummyHash: string,
    private readonly bcryptCompare: Compare,
  ) {}

  /**
   * Builds an authenticator; an unknown user is compared with the configured hash of the highest cost
   * (its answer is thrown away), as slow as the slowest real user. Making a dummy hash instead would
   * run a bcrypt on the event loop (~1 s at cost 14) at start and at each change of the users.
   * `compare` runs one bcrypt comparison (default: bcryptjs in this thread; the server passes a worker's).
   */
  static create(
    users: ReadonlyMap<string, string>,
    compare: Compare = (password, hash) => bcrypt.compare(password, hash),
  ): Promise<BasicAuth> {
    const hashes = [...users.values()];
    if (hashes.length === 0) return Promise.reject(new Error('basic auth needs at least one user'));
    const slowest = hashes.reduce((a, b) => (bcrypt.getRounds(b) > bcrypt.getRounds(a) ? b : a));
    return Promise.resolve(new BasicAuth(users, slowest, compare));
  }

  /** Checks an Authorization header value. */
  async check(authorization: string | undefined): Promise<AuthOutcome> {
    const m = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
    const decoded = m?.[1] === undefined ? undefined : Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded?.indexOf(':') ?? -1;
    if (decoded === undefined || colon < 0) return { ok: false, reason: 'no-credentials', bcrypt: false };
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.users.get(user);
    const key = `${user}\0${createHash('sha256').update(password).digest('hex')}`;
    if (hash !== undefined && this.cache.has(key)) return { ok: true, reason: 'cached', bcrypt: false };
    if (this.pending > MAX_BCRYPT_WAITING) return { ok: false, reason: 'busy', bcrypt: false };
    const matches = await this.compare(password, hash ?? this.dummyHash);
    if (hash === undefined) return { ok: false, reason: 'unknown-user', bcrypt: true };
    if (!matches) return { ok: false, reason: 'wrong-password', bcrypt: true };
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, true);
    return { ok: true, reason: 'verified', bcrypt: true };
  }

  private compare(password: string, hash: string): Promise<boolean> {
    this.pending++;
    const run = this.queue.then(() => {
      this.bcryptCount++;
      return this.bcryptCompare(password, hash);
    });
    this.queue = run.catch(() => undefined).finally(() => this.pending--);
    return run;
  }
}
