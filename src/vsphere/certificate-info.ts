import { X509Certificate } from 'node:crypto';

/** What the exporter shows of an X.509 certificate (never its key, which it never sees). */
export interface CertificateInfo {
  /** Distinguished names as "CN=vc.example.com, O=VMware" (RFC 2253 order as Node prints them, one line). */
  subject: string;
  issuer: string;
  serialNumber: string;
  /** Hex SHA-256 of the DER, colon-separated as Node prints it. */
  sha256Fingerprint: string;
  notBeforeSeconds: number;
  notAfterSeconds: number;
}

/** A PEM text or DER buffer → its CertificateInfo; undefined when it is not one parsable certificate. */
export function certificateInfo(data: Buffer | string): CertificateInfo | undefined {
  try {
    const cert = new X509Certificate(data);
    const notBefore = Date.parse(cert.validFrom);
    const notAfter = Date.parse(cert.validTo);
    if (!Number.isFinite(notAfter) || !Number.isFinite(notBefore)) return undefined;
    return {
      subject: oneLine(cert.subject),
      issuer: oneLine(cert.issuer),
      serialNumber: cert.serialNumber,
      sha256Fingerprint: cert.fingerprint256,
      notBeforeSeconds: notBefore / 1000,
      notAfterSeconds: notAfter / 1000,
    };
  } catch {
    return undefined; // a host with no or a damaged certificate must not fail the collection
  }
}

// Node prints each RDN on a line of its own; a label value reads better on one.
function oneLine(dn: string): string {
  return dn
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .join(', ');
}
