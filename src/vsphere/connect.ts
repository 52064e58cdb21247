import type { Logger } from 'pino';
import { readPassword } from '../config/load.js';
import type { VsphereConfig } from '../config/schema.js';
import { VimClient } from './client.js';
import { Session } from './session.js';
import type { ConnectionOptions } from './pool-options.js';
import { SoapTransport, type TransportOptions } from './soap/transport.js';

/** The SOAP pieces of one target, built from its config (the exporter's targets and `check` alike). */
export interface VimConnection {
  transport: SoapTransport;
  session: Session;
  client: VimClient;
}

/** The connection limits and TLS settings of target `v`, shared by its SOAP and vAPI (REST) transports. */
export function connectionOptions(
  v: VsphereConfig,
  ca: string | undefined,
  maxConnections: number,
): ConnectionOptions {
  return {
    maxConnections,
    connectTimeoutMs: v.connectTimeoutMs,
    requestTimeoutMs: v.requestTimeoutMs,
    maxResponseBytes: v.maxResponseBytes,
    ca,
    insecureSkipVerify: v.insecureSkipVerify,
    serverName: v.serverName,
  };
}

/** Transport, session and client for `v` (nothing connects until the first call). */
export function connectVim(
  v: VsphereConfig,
  ca: string | undefined,
  logger: Logger,
  opts: { maxConnections?: number; onCall?: TransportOptions['onCall'] } = {},
): VimConnection {
  const transport = new SoapTransport({
    ...connectionOptions(v, ca, opts.maxConnections ?? v.maxConnections),
    url: v.url,
    onCall: opts.onCall,
    logger,
  });
  const session = new Session(transport, {
    user: v.user,
    password: () => readPassword(v),
    keepaliveIntervalMs: v.keepaliveIntervalMs,
    logger,
  });
  return { transport, session, client: new VimClient(transport, session, logger) };
}
