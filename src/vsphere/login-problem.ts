import { VsphereError } from './errors.js';

/** The code of the socket or DNS error under `e` (ECONNREFUSED, ENOTFOUND…), if any. */
export function socketCode(e: unknown): string | undefined {
  // undici wraps socket errors; the useful code is on a cause a few levels down.
  for (let cur: unknown = e, i = 0; cur instanceof Error && i < 5; i++, cur = cur.cause) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && !c.startsWith('VSPHERE_') && c !== 'UND_ERR_SOCKET') return c;
  }
  return undefined;
}

/**
 * One word for why a login failed, stable while the cause is (a new one is logged, the same one is
 * not): e.g. `VSPHERE_CONNECTION:ECONNREFUSED`, `VSPHERE_TLS:UNABLE_TO_VERIFY_LEAF_SIGNATURE`.
 */
export function failureCause(e: unknown): string {
  const code = e instanceof VsphereError ? e.code : 'UNKNOWN';
  const under = socketCode(e);
  return under ? `${code}:${under}` : code;
}

// What an operator can do about each socket-level failure.
function connectHint(code: string | undefined, url: URL): string | undefined {
  const where = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  switch (code) {
    case 'ECONNREFUSED':
      return `nothing accepts connections on ${where} (wrong port in the URL, or vCenter's service is down)`;
    case 'ENOTFOUND':
      return `the host name ${url.hostname} does not resolve (typo in the URL, or no DNS record for it from here)`;
    case 'EAI_AGAIN':
      return `the DNS lookup of ${url.hostname} failed for now (is a DNS server reachable from here?)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${url.hostname} (wrong address, or a firewall or NetworkPolicy egress rule)`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `no answer from ${where} within the connect timeout (a firewall or NetworkPolicy egress rule dropping packets, or the wrong address)`;
    case 'ECONNRESET':
      return `${where} closed the connection (a proxy in between, or not a vSphere SDK endpoint)`;
    default:
      return undefined;
  }
}

/** Why a login failed, in words that point at the fix (`check` prints it; the exporter logs it). */
export function loginProblem(e: unknown, user: string, url: URL): string {
  if (!(e instanceof VsphereError)) return `login failed: ${e instanceof Error ? e.message : String(e)}`;
  const hint = connectHint(socketCode(e), url);
  const tail = hint ? `; ${hint}` : '';
  if (e.code === 'VSPHERE_INVALID_LOGIN') {
    return `login refused for user ${user} (wrong user or password, or the account is locked): ${e.message}`;
  }
  if (e.code === 'VSPHERE_CONNECTION' || (e.code === 'VSPHERE_TIMEOUT' && hint)) {
    return `cannot connect to ${url.host}: ${e.message}${tail}`;
  }
  if (e.code === 'VSPHERE_TLS') return `TLS: ${e.message}`;
  if (e.code === 'VSPHERE_PASSWORD_UNREADABLE') return `cannot read the password: ${e.message}`;
  return `login failed (${e.code}): ${e.message}${tail}`;
}
