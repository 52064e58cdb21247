import type { Logger } from 'pino';
import type { MoRef } from './soap/envelope.js';
import { isVsphereError } from './errors.js';
import { COOKIE_NAME, type SoapTransport } from './soap/transport.js';

const MAX_CANDIDATES = 4;
// Bound of the Logouts that end one orphan session (on top of any outer deadline).
const ORPHAN_LOGOUT_MS = 2000;

/**
 * Cookies that may carry a session vCenter created but the transport did not keep, from a Login
 * answer's Set-Cookie lines: ours under its own name, and, when a proxy in between renamed it, the
 * value of every other cookie sent under vCenter's name (then as it came, for a proxy that maps the
 * name back). With `ownOnly`, only a cookie under vCenter's name.
 */
export function orphanCookies(setCookie: readonly string[], ownOnly = false): string[] {
  const out = new Set<string>();
  for (const line of setCookie) {
    const pair = line.split(';', 1)[0]?.trim() ?? '';
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) continue;
    const name = pair.slice(0, eq).trim();
    if (name === COOKIE_NAME) out.add(pair);
    else if (!ownOnly) {
      out.add(`${COOKIE_NAME}=${pair.slice(eq + 1).trim()}`);
      out.add(pair);
    }
  }
  return [...out].slice(0, MAX_CANDIDATES);
}

/** Who asks to end an orphan session, why, and the outer deadline (shutdown) if any. */
export interface OrphanContext {
  why: string;
  /** The cookies came under vCenter's own name: NotAuthenticated then means there is no session. */
  own?: boolean;
  user: string;
  logger: Logger;
  outer?: AbortSignal;
}

/**
 * Logs out the session a Login created but the exporter cannot use, trying each cookie in turn;
 * true once vCenter accepted a Logout. A wrong guess costs one NotAuthenticated answer; anything
 * else (timeout, connection) ends the tries. Says in the log when a session is left behind; never
 * logs the cookies.
 */
export async function endOrphanSession(
  transport: SoapTransport,
  sessionManager: MoRef,
  cookies: readonly string[],
  ctx: OrphanContext,
): Promise<boolean> {
  const { why, user, logger } = ctx;
  const bound = AbortSignal.timeout(ORPHAN_LOGOUT_MS);
  const signal = ctx.outer ? AbortSignal.any([bound, ctx.outer]) : bound;
  let refused = 0;
  for (const cookie of cookies) {
    try {
      await transport.call('Logout', sessionManager, '', { cookie, signal });
      logger.info({ why }, 'logged out of a vCenter session the exporter could not use');
      return true;
    } catch (e) {
      if (!isVsphereError(e, 'VSPHERE_NOT_AUTHENTICATED')) break;
      refused++;
    }
  }
  // vCenter does not know its own cookie: the cut-off answer had created no session.
  if (ctx.own && refused === cookies.length && refused > 0) return false;
  logger.warn(
    { user, why, triedCookies: cookies.length },
    'a vCenter session the exporter cannot use is left until vCenter ends it (idle timeout)',
  );
  return false;
}
