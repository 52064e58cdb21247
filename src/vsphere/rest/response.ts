import { VsphereError } from '../errors.js';
import type { RestResponse } from './transport.js';

/**
 * The payload of a /rest answer: 2xx bodies are `{"value": ...}` (an absent or null value, as vcsim
 * sends for an empty list, is undefined); any other status becomes a VsphereError naming the
 * vAPI error type (e.g. com.vmware.vapi.std.errors.not_found) when the body carries one.
 */
export function vapiValue(res: RestResponse, label: string): unknown {
  if (res.status >= 200 && res.status < 300) {
    const body = res.json;
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'value' in body)
      return body.value ?? undefined;
    return undefined;
  }
  const type = errorType(res.json);
  const code = res.status === 401 ? 'VSPHERE_NOT_AUTHENTICATED' : 'VSPHERE_HTTP_STATUS';
  return thrown(
    new VsphereError(code, `${label}: HTTP ${res.status}${type ? ` (${type})` : ''} from vCenter`, {
      statusCode: res.status,
      method: label,
    }),
  );
}

function errorType(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const t = (body as { type?: unknown }).type;
  // Only a dotted identifier: the body of an error page is not echoed into logs or metrics.
  return typeof t === 'string' && /^[\w.]{1,200}$/.test(t) ? t : undefined;
}

function thrown(e: Error): never {
  throw e;
}

/** Basic-auth header value for `user`/`password` (UTF-8, as vCenter's SSO expects). */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
