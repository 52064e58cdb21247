import type { Logger } from 'pino';
import { readPassword } from '../config/load.js';
import type { VsphereConfig } from '../config/schema.js';
import { VimClient } from './client.js';
import { Session } from './session.js';
import type { ConnectionOptions } from './pool-options.js';
import type { SoapTransport, TransportOptions } from './soap/transport.js';
import { ScrubbingSoapTransport, SecretScrubber } from './secret-scrub.js';

// A login (password, ServiceContent, Login) answers in seconds; one trickled byte by byte must not
// hold the target for the whole request timeout.
const MAX_LOGIN_TIMEOUT_MS = 30_000;

/** The SOAP pieces of one target, built from its config (the exporter's targets and `check` alike). */
export interface VimConnection {
  transport: SoapTransport;
  /** Removes the target's password from texts vCenter sent (its errors are already scrubbed). */
  scrubber: SecretScrubber;
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
    ...(v.caFile !== undefined && { caFile: v.caFile }),
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
  // Every password read for a login is remembered, so a fault string echoing it is scrubbed at the
  // one place all of vCenter's answers pass, whoever made the call.
  const scrubber = new SecretScrubber();
  if (v.password !== undefined) scrubber.remember(v.password);
  const transport = new ScrubbingSoapTransport(
    {
      ...connectionOptions(v, ca, opts.maxConnections ?? v.maxConnections),
      url: v.url,
      onCall: opts.onCall,
      logger,
    },
    scrubber,
  );
  const session = new Session(transport, {
    user: v.user,
    password: async () => scrubber.remember(await readPassword(v)),
    keepaliveIntervalMs: v.keepaliveIntervalMs,
    loginTimeoutMs: Math.min(v.requestTimeoutMs, MAX_LOGIN_TIMEOUT_MS),
    logger,
    url: v.url,
  });
  return { transport, scrubber, session, client: new VimClient(transport, session, logger) };
}
