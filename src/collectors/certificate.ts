import { certificateInfo, type CertificateInfo } from '../vsphere/certificate-info.js';
import type { XmlNode } from '../vsphere/answer-data.js';
import type { CollectContext, Collector } from './collector.js';
import { family, gauge } from './collector.js';

const ID = ['host', 'host_moid'] as const;

const EXPIRY = gauge(
  'vsphere_host_certificate_expiry_timestamp_seconds',
  "Unix time the ESXi host's SSL certificate stops being valid (notAfter of HostSystem config.certificate).",
  ID,
);
const INFO = gauge(
  'vsphere_host_certificate_info',
  "Subject, issuer and serial number of the ESXi host's SSL certificate (HostSystem config.certificate); value is always 1.",
  [...ID, 'subject', 'issuer', 'serial_number'],
);

/** The property read: the host's certificate in PEM, sent as vim25 xsd:byte[] (one <byte> element per byte). */
export const HOST_CERTIFICATE_PATH = 'config.certificate';

/**
 * HostSystem config.certificate (ArrayOfByte: signed bytes of the PEM text) → its bytes; a server
 * that sends the text itself (no <byte> children) is read as that text.
 */
export function certificateBytes(val: XmlNode | undefined): Buffer | undefined {
  if (!val) return undefined;
  const bytes = val.children.filter((c) => c.name === 'byte');
  if (bytes.length === 0) return val.text.trim() === '' ? undefined : Buffer.from(val.text, 'latin1');
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const n = Number(bytes[i]!.text.trim());
    if (!Number.isInteger(n) || n < -128 || n > 255) return undefined;
    out[i] = n & 0xff;
  }
  return out;
}

// The model keeps a host's property node until that property changes: parse each one once.
const parsed = new WeakMap<XmlNode, CertificateInfo | null>();

/** The certificate of one host's config.certificate node (cached per node); undefined when absent or unparsable. */
export function hostCertificate(val: XmlNode | undefined): CertificateInfo | undefined {
  if (!val) return undefined;
  let hit = parsed.get(val);
  if (hit === undefined) {
    const bytes = certificateBytes(val);
    hit = (bytes && certificateInfo(bytes)) ?? null;
    parsed.set(val, hit);
  }
  return hit ?? undefined;
}

/**
 * ESXi host certificates (HostSystem config.certificate, read with the inventory model: the watch
 * sends a host's certificate again only when it changes). vCenter's own certificate is a target
 * family (vsphere_target_certificate_*), captured at connect.
 */
export const certificateCollector: Collector = {
  name: 'certificate',
  properties: [{ type: 'HostSystem', pathSet: [HOST_CERTIFICATE_PATH] }],
  families: [EXPIRY, INFO],
  collect(ctx: CollectContext, emit): Promise<void> {
    const [expiry, info] = [EXPIRY, INFO].map(family);
    for (const h of ctx.inventory.hosts) {
      const cert = hostCertificate(h.extra?.get(HOST_CERTIFICATE_PATH));
      if (!cert) continue;
      const id = [h.name, h.moid];
      expiry!.add(id, cert.notAfterSeconds);
      info!.add([...id, cert.subject, cert.issuer, cert.serialNumber], 1);
    }
    emit(expiry!);
    emit(info!);
    return Promise.resolve();
  },
};
