import { errors as undiciErrors } from 'undici';
import { VsphereError } from './errors.js';

// Node's TLS error codes, with what an operator has to do about each.
const TLS_REASONS = new Map<string, string>([
  [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'certificate signed by a CA this exporter does not trust (set ca_file)',
  ],
  [
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'certificate signed by a CA this exporter does not trust (set ca_file)',
  ],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'certificate chain ends in an untrusted self-signed CA (set ca_file to it)'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate (set ca_file to it, or replace it)'],
  ['CERT_HAS_EXPIRED', 'certificate has expired'],
  ['CERT_NOT_YET_VALID', 'certificate is not valid yet (check both clocks)'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate does not name this host (fix the URL or set server_name)'],
  ['ERR_SSL_WRONG_VERSION_NUMBER', 'the server does not speak TLS on this port (http:// URL?)'],
]);

/** Maps an undici or abort failure of `method` (a SOAP method, or a vAPI request) to a VsphereError. */
export function toVsphereError(e: unknown, method: string, signal: AbortSignal | undefined): VsphereError {
  if (e instanceof VsphereError) {
    e.method ??= method;
    return e;
  }
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    const why = reason instanceof Error ? reason.message : 'aborted';
    return new VsphereError('VSPHERE_ABORTED', `${method}: ${why}`, { method, cause: e });
  }
  const code = errorCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof undiciErrors.ResponseExceededMaxSizeError || code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new VsphereError(
      'VSPHERE_RESPONSE_TOO_LARGE',
      `${method}: response larger than the configured cap`,
      { method },
    );
  }
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new VsphereError('VSPHERE_TIMEOUT', `${method}: ${msg}`, { method, cause: e });
  }
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
    return new VsphereError('VSPHERE_CLOSED', `${method}: connection pool closed`, { method, cause: e });
  }
  const reason = code === undefined ? undefined : TLS_REASONS.get(code);
  if (code && reason) {
    const subject = certSubject(e);
    const which = subject ? ` (certificate ${subject})` : '';
    return new VsphereError(
      'VSPHERE_TLS',
      `${method}: TLS verification of vCenter failed: ${reason}${which}: ${code}: ${msg}`,
      {
        method,
        cause: e,
      },
    );
  }
  return new VsphereError('VSPHERE_CONNECTION', `${method}: ${code ? `${code}: ` : ''}${msg}`, {
    method,
    cause: e,
  });
}

// Node attaches the peer certificate to host-name errors; name it so the operator knows which one.
function certSubject(e: unknown): string | undefined {
  for (let cur: unknown = e, i = 0; cur && i < 5; i++) {
    const cert = (cur as { cert?: { subject?: { CN?: string }; valid_to?: string } }).cert;
    if (cert?.subject?.CN)
      return `CN=${cert.subject.CN}${cert.valid_to ? `, valid to ${cert.valid_to}` : ''}`;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  // undici wraps socket errors; the useful code (ECONNREFUSED, CERT_HAS_EXPIRED…) is on the cause.
  for (let i = 0; i < 3 && cur instanceof Error; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== 'UND_ERR_SOCKET') return c;
    cur = cur.cause;
  }
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}
