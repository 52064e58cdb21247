import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { certificateInfo, type CertificateInfo } from './certificate-info.js';

/**
 * An undici connector that hands the leaf certificate of each new TLS connection to `seen`: what
 * vCenter presented at connect, read from the handshake the calls make anyway (no extra connection).
 */
export function certificateCapturingConnector(
  options: buildConnector.BuildOptions,
  seen: (cert: CertificateInfo) => void,
): buildConnector.connector {
  const connect = buildConnector(options);
  let lastRaw: Buffer | undefined;
  let last: CertificateInfo | undefined;
  return (opts, callback) =>
    connect(opts, (err, socket) => {
      if (!err && socket && isTls(socket)) {
        const raw = socket.getPeerCertificate().raw as Buffer | undefined;
        // Pool connections come and go every minute or so: parse only a certificate not seen last.
        if (raw && raw.length > 0) {
          if (!lastRaw?.equals(raw)) {
            lastRaw = Buffer.from(raw);
            last = certificateInfo(raw);
          }
          if (last) seen(last);
        }
      }
      // undici types the callback as (null, socket) | (error, null): hand it on as given.
      if (err) callback(err, null);
      else callback(null, socket);
    });
}

function isTls(socket: Socket): socket is TLSSocket {
  return typeof (socket as Partial<TLSSocket>).getPeerCertificate === 'function';
}
