import { rootCertificates } from 'node:tls';
import type { Pool } from 'undici';
import type { CertificateInfo } from './certificate-info.js';
import { certificateCapturingConnector } from './peer-certificate.js';

/** Connection limits and TLS settings shared by the SOAP and the vAPI (REST) transports. */
export interface ConnectionOptions {
  maxConnections: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxResponseBytes: number;
  /** PEM text of extra CAs, trusted in addition to Node's bundled root CAs. */
  ca?: string;
  /** The file `ca` was read from, named when verification fails. */
  caFile?: string;
  insecureSkipVerify: boolean;
  /** TLS name to verify instead of the URL's host. */
  serverName?: string;
  /** Told the certificate vCenter presented on each new TLS connection (parsed once per distinct one). */
  onPeerCertificate?: (cert: CertificateInfo) => void;
}

/**
 * undici Pool options for one vCenter: bounded keep-alive sockets, explicit timeouts and a response
 * size cap, so neither a slow nor a huge answer can hold a socket or memory without limit.
 */
export function poolOptions(opts: ConnectionOptions): Pool.Options {
  const connect = {
    timeout: opts.connectTimeoutMs,
    rejectUnauthorized: !opts.insecureSkipVerify,
    ...(opts.ca ? { ca: [...rootCertificates, opts.ca] } : {}),
    ...(opts.serverName ? { servername: opts.serverName } : {}),
  };
  return {
    connections: opts.maxConnections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: opts.requestTimeoutMs,
    bodyTimeout: opts.requestTimeoutMs,
    maxResponseSize: opts.maxResponseBytes,
    connect: opts.onPeerCertificate
      ? certificateCapturingConnector(connect, opts.onPeerCertificate)
      : connect,
  };
}
