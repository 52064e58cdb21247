import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import { socketCode } from './login-problem.js';
import { VsphereError } from './errors.js';

/** Where the failed TLS connection went, and what it trusted. */
export interface TlsTarget {
  url: URL;
  /** PEM text of the CAs trusted beside Node's bundled ones. */
  ca?: string;
  /** The file `ca` was read from (named in the message). */
  caFile?: string;
  serverName?: string;
  connectTimeoutMs: number;
}

// Node's verification codes, with what is wrong in the operator's words.
const REASONS = new Map<string, string>([
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'certificate signed by a CA this exporter does not trust'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'certificate signed by a CA this exporter does not trust'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'certificate chain ends in a self-signed CA this exporter does not trust'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate this exporter does not trust'],
  ['CERT_HAS_EXPIRED', 'certificate has expired'],
  ['CERT_NOT_YET_VALID', 'certificate is not valid yet (check both clocks)'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate does not name this host (fix the URL or set server_name)'],
]);
// Codes that a different ca_file would fix.
const TRUST = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);
// A certificate's names come from whoever runs the server: bounded, printable.
const MAX_NAME = 120;
const PROBE_MAX_MS = 5000;

/**
 * The same TLS failure, its message naming the certificate vCenter presented (subject and issuer,
 * read by a second handshake that verifies nothing and sends nothing) and the ca_file that was
 * tried (or that none is set), so "wrong file" and "no file" no longer read alike.
 */
export async function explainTls(
  err: VsphereError,
  t: TlsTarget,
  signal?: AbortSignal,
): Promise<VsphereError> {
  const code = socketCode(err);
  const reason = code === undefined ? undefined : REASONS.get(code);
  if (code === undefined || reason === undefined) return err;
  const method = err.method ?? 'call';
  const cert = await peerCertificate(t, signal);
  const parts = [`${method}: TLS verification of vCenter failed: ${reason}`];
  if (cert) {
    const subject = dn(cert.subject);
    const issuer = dn(cert.issuer);
    parts.push(
      subject === issuer
        ? `vCenter presented ${subject}, self-signed`
        : `vCenter presented ${subject}, issued by ${issuer}`,
    );
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
      parts.push(`valid ${cert.valid_from} to ${cert.valid_to}`);
  }
  if (TRUST.has(code)) parts.push(caAdvice(t, cert));
  const cause = err.cause instanceof Error ? err.cause.message : '';
  return new VsphereError('VSPHERE_TLS', `${parts.join('; ')} (${code}${cause ? `: ${cause}` : ''})`, {
    method,
    cause: err.cause,
  });
}

function caAdvice(t: TlsTarget, cert: PeerCertificate | undefined): string {
  const want = cert ? `the CA that issued it (${dn(cert.issuer)})` : 'the CA that issued it';
  if (t.caFile === undefined) {
    return `no ca_file is set, so only Node's bundled public CAs are trusted: set ca_file to a PEM file holding ${want}`;
  }
  const held = caSubjects(t.ca ?? '');
  if (held.length === 0) return `ca_file ${t.caFile} holds no PEM certificate: put ${want} in it`;
  const shown = held.slice(0, 3).join('; ') + (held.length > 3 ? `; ${held.length - 3} more` : '');
  return `ca_file ${t.caFile} (${held.length} certificate${held.length === 1 ? '' : 's'}: ${shown}) does not hold ${want}`;
}

// Subjects of the certificates in a PEM text; blocks that do not parse are skipped.
function caSubjects(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const out: string[] = [];
  for (const b of blocks) {
    try {
      out.push(clean(new X509Certificate(b).subject.split('\n').join(', ')));
    } catch {
      // The config loader refuses damaged blocks; nothing to name here.
    }
  }
  return out;
}

// "CN=vc.example.com, O=Example" from Node's parsed name (values may repeat as arrays).
function dn(name: Record<string, string | string[] | undefined> | undefined): string {
  if (!name) return '(no name)';
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : (v ?? '')}`);
  return parts.length === 0 ? '(empty name)' : clean(parts.join(', '));
}

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return printable.length > MAX_NAME ? `${printable.slice(0, MAX_NAME)}…` : printable;
}

/** The leaf certificate the server presents, or undefined when it cannot be read in time. */
function peerCertificate(t: TlsTarget, signal?: AbortSignal): Promise<PeerCertificate | undefined> {
  if (signal?.aborted) return Promise.resolve(undefined);
  const host = t.url.hostname.replace(/^\[(.*)\]$/, '$1');
  const servername = t.serverName ?? (isIP(host) === 0 ? host : undefined);
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(t.url.port || 443),
      ...(servername !== undefined && { servername }),
      // Only to read the certificate: nothing is sent over this connection.
      rejectUnauthorized: false,
    });
    const done = (cert: PeerCertificate | undefined): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(cert && Object.keys(cert).length > 0 ? cert : undefined);
    };
    const onAbort = (): void => done(undefined);
    const timer = setTimeout(onAbort, Math.min(t.connectTimeoutMs, PROBE_MAX_MS));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => done(socket.getPeerCertificate()));
    socket.on('error', onAbort);
  });
}
