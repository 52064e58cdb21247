import type { Password } from './credentials.js';
import { SoapTransport, type CallOptions, type TransportOptions } from './soap/transport.js';
import type { MoRef } from './soap/envelope.js';
import type { XmlNode } from './soap/xml.js';

const MASK = '<secret>';
// Of each kind, the one now in use and the one before it: a vCenter fault can echo a password the
// file held a moment ago (rotation while a Login was in flight), or the session of a call made
// before a new login.
const KEEP = 2;

/** Which session a token belongs to: each logs in on its own. */
export type TokenKind = 'soap' | 'rest';

/**
 * The secrets a target sends to vCenter, and their removal from any text vCenter sends back: a fault
 * string can echo the password or the session (some SSO and proxy errors quote the request), and
 * that text then reaches metrics, the status page, the log and `check`.
 */
export class SecretScrubber {
  private readonly kept = new Map<TokenKind | 'password', string[]>();

  /** Remembers `secret` (as sent) so later texts from vCenter are scrubbed of it; returns it. */
  remember<T extends Password>(secret: T): T {
    this.keep('password', secret.reveal());
    return secret;
  }

  /** Remembers a session token vCenter gave (a cookie's value, a REST session id), as remember() does a password. */
  rememberToken(kind: TokenKind, token: string): void {
    // A cookie's value may come quoted; what a proxy echoes may be either form. A short token
    // would mask ordinary text (real ones are 32 or more characters).
    const bare = token.replace(/^"(.*)"$/, '$1');
    if (bare.length >= 8) this.keep(kind, bare);
  }

  private keep(kind: TokenKind | 'password', value: string): void {
    const now = this.kept.get(kind) ?? [];
    if (value !== '' && now[0] !== value)
      this.kept.set(kind, [value, ...now.filter((s) => s !== value)].slice(0, KEEP));
  }

  /** `text` with every remembered secret (also XML-escaped or URL-encoded) replaced by `<secret>`. */
  text(text: string): string {
    let out = text;
    for (const s of [...this.kept.values()].flat()) {
      for (const form of forms(s)) if (out.includes(form)) out = out.split(form).join(MASK);
    }
    return out;
  }

  /** Scrubs the message and stack of an error (and of its causes) in place; returns it. */
  error<T>(e: T): T {
    if (this.kept.size === 0) return e;
    for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 5; depth++) {
      const err = cur;
      // Some errors (DOMException, an abort reason in the chain) have read-only fields; they hold
      // no text from vCenter.
      trySet(() => (err.message = this.text(err.message)));
      if (err.stack !== undefined) trySet(() => (err.stack = this.text(err.stack ?? '')));
      cur = err.cause;
    }
    return e;
  }
}

function trySet(assign: () => unknown): void {
  try {
    assign();
  } catch {
    // read-only: left as it is
  }
}

function forms(secret: string): Set<string> {
  const xml = secret
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
  return new Set([secret, xml, encodeURIComponent(secret)]);
}

/**
 * A SoapTransport whose every failure is scrubbed of the target's secrets: the one place where
 * vCenter's text enters a target, whichever caller (session, client, inventory watch, check) made the call.
 */
export class ScrubbingSoapTransport extends SoapTransport {
  constructor(
    opts: TransportOptions,
    /** The secrets to remove from vCenter's error texts. */
    readonly scrubber: SecretScrubber,
  ) {
    super(opts);
  }

  /** A fault string scrubbed before it is cut to length, so no prefix of a secret is left. */
  protected override scrubText(text: string): string {
    return this.scrubber.text(text);
  }

  /** The session cookie's value is a secret too: whoever holds it is logged in. */
  protected override heldCookie(value: string): void {
    this.scrubber.rememberToken('soap', value);
  }

  /** SoapTransport.call, with any error scrubbed of the remembered secrets. */
  override async call(method: string, self: MoRef, body: string, options?: CallOptions): Promise<XmlNode> {
    try {
      return await super.call(method, self, body, options);
    } catch (e) {
      throw this.scrubber.error(e);
    }
  }
}
