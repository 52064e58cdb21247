import { MetricFamily } from '../exposition/index.js';
import type { VimClient } from '../vsphere/client.js';
import type { CertificateInfo } from '../vsphere/certificate-info.js';
import { errorReason } from '../vsphere/errors.js';
import { errorText } from './error-text.js';
import { sessionFamilies, type SoapStats } from './self-stats.js';

/** What the health families are read from. */
export interface HealthDeps {
  client: VimClient;
  version: string;
  soapStats: SoapStats;
  /** Whether vCenter's TLS certificate is verified (false only with insecure_skip_verify). */
  tlsVerify?: boolean;
  /** The certificate vCenter presented on the latest TLS connection, when there was one. */
  peerCertificate?: () => CertificateInfo | undefined;
}

/** The exporter's own families of a collection: up, duration, deadline, last error, build, vCenter, session, SOAP. */
export function healthFamilies(
  deps: HealthDeps,
  up: boolean,
  durationSeconds: number,
  deadlineSeconds: number,
  error: unknown,
): MetricFamily[] {
  const { client, version, soapStats } = deps;
  const gauge = (name: string, help: string, value: number): MetricFamily => {
    const f = new MetricFamily(name, help, 'gauge', []);
    f.add([], value);
    return f;
  };
  const out = [
    gauge(
      'vsphere_up',
      '1 when vCenter answered this collection (login and inventory read succeeded).',
      up ? 1 : 0,
    ),
    gauge('vsphere_scrape_duration_seconds', 'Wall time of this collection.', durationSeconds),
    gauge(
      'vsphere_scrape_timeout_seconds',
      "Deadline this answer had, in seconds: X-Prometheus-Scrape-Timeout-Seconds minus scrape.timeout_offset_seconds (at most scrape.max_timeout_seconds), or scrape.timeout_seconds without the header; an answer that waited for a whole shared collection reports that collection's deadline, the longest of its waiters.",
      deadlineSeconds,
    ),
    gauge(
      'vsphere_target_tls_verify',
      '1 when the connection to vCenter is TLS with certificate verification; 0 for http:// or insecure_skip_verify.',
      deps.tlsVerify === false ? 0 : 1,
    ),
  ];
  const lastError = new MetricFamily(
    'vsphere_last_error_info',
    'Why the last collection could not reach vCenter (present only when vsphere_up is 0).',
    'gauge',
    ['code', 'message'],
  );
  if (error !== undefined) lastError.add([errorReason(error), errorText(error)], 1);
  const build = new MetricFamily(
    'vsphere_exporter_build_info',
    'Version of vsphere-exporter and of the Node.js runtime; value is always 1.',
    'gauge',
    ['version', 'nodejs_version'],
  );
  build.add([version, process.version], 1);
  const about = client.session.content?.about;
  const vc = new MetricFamily(
    'vsphere_vcenter_info',
    'Product and API version vCenter (or ESXi) reports; value is always 1.',
    'gauge',
    ['product', 'version', 'build', 'api_version', 'api_type', 'instance_uuid'],
  );
  if (about)
    vc.add(
      [about.fullName, about.version, about.build, about.apiVersion, about.apiType, about.instanceUuid],
      1,
    );
  return [
    ...out,
    lastError,
    build,
    vc,
    ...targetCertificateFamilies(deps.peerCertificate?.()),
    ...sessionFamilies(client.session.stats, client.session.isLoggedIn),
    ...soapStats.families(),
  ];
}

/** vCenter's TLS certificate as presented at connect: its not-after time and who it names (absent for http://). */
export function targetCertificateFamilies(cert: CertificateInfo | undefined): MetricFamily[] {
  const expiry = new MetricFamily(
    'vsphere_target_certificate_expiry_timestamp_seconds',
    "Unix time vCenter's TLS certificate (as presented on the exporter's latest connection) stops being valid (notAfter).",
    'gauge',
    [],
  );
  const info = new MetricFamily(
    'vsphere_target_certificate_info',
    "Subject, issuer, serial number and SHA-256 fingerprint of vCenter's TLS certificate as presented on the latest connection; value is always 1.",
    'gauge',
    ['subject', 'issuer', 'serial_number', 'sha256_fingerprint'],
  );
  if (cert) {
    expiry.add([], cert.notAfterSeconds);
    info.add([cert.subject, cert.issuer, cert.serialNumber, cert.sha256Fingerprint], 1);
  }
  return [expiry, info];
}
