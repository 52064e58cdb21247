import { isIPv6 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ClientAuthType } from './web-config.js';

// Node writes values holding ", " or quotes as JSON strings: "DNS:a, URI:\"x,y\"".
const SAN_ENTRY = /(DNS|IP Address|email|URI):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;

/** The SAN values of a certificate's subjectaltname string, IPv6 addresses in their short form. */
export function sanValues(subjectAltName: string | undefined): string[] {
  const out: string[] = [];
  for (const m of (subjectAltName ?? '').matchAll(SAN_ENTRY)) {
    const raw = m[2] ?? '';
    let value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    // Go's net.IP.String(), which exporter-toolkit matches against, gives "::1", OpenSSL "0:0:…:1".
    if (m[1] === 'IP Address' && isIPv6(value)) value = new URL(`http://[${value}]/`).hostname.slice(1, -1);
    out.push(value);
  }
  return out;
}

/**
 * Why a TLS client may not go on under client_auth_type (and client_allowed_sans), or undefined if
 * it may. RequireAndVerifyClientCert is also enforced by the handshake itself.
 */
export function clientCertProblem(
  socket: Pick<TLSSocket, 'getPeerCertificate' | 'authorized' | 'authorizationError'>,
  mode: ClientAuthType,
  allowedSans: readonly string[] | undefined,
): string | undefined {
  if (mode === 'NoClientCert' || mode === 'RequestClientCert') return undefined;
  const cert = socket.getPeerCertificate();
  const given = cert !== null && Object.keys(cert).length > 0;
  if (!given) {
    return mode === 'VerifyClientCertIfGiven' ? undefined : 'no client certificate';
  }
  const verifies = mode === 'VerifyClientCertIfGiven' || mode === 'RequireAndVerifyClientCert';
  if (verifies && !socket.authorized) {
    return `client certificate not verified: ${String(socket.authorizationError ?? 'unknown reason')}`;
  }
  if (allowedSans !== undefined && !sanValues(cert.subjectaltname).some((v) => allowedSans.includes(v))) {
    return 'client certificate has none of client_allowed_sans';
  }
  return undefined;
}
