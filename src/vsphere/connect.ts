import type { Logger } from 'pino';
import { VimClient } from './client.js';
import type { PasswordSource, TargetSettings } from './credentials.js';
import { Session } from './session.js';
import type { ConnectionOptions } from './pool-options.js';
import type { SoapTransport, TransportOptions } from './soap/transport.js';
import { ScrubbingSoapTransport, SecretScrubber } from './secret-scrub.js';

// A login (password, ServiceContent, Login) answers in seconds; one trickled byte by byte must not
// hold the target for the whole request timeout.
const MAX_LOGIN_TIMEOUT_MS = 30_000;

/** The SOAP pieces of one target (the exporter's targets and `check` alike). */
export interface VimConnection {
  transport: SoapTransport;
  /** Removes the target's password from texts vCenter sent (its errors are already scrubbed). */
  scrubber: SecretScrubber;
  session: Session;
  client: VimClient;
}

/** The connection limits and TLS settings of target `v`, shared by its SOAP and vAPI (REST) transports. */
export function connectionOptions(
  v: TargetSettings,
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

/** The deadline of one login of target `v`, SOAP or REST. */
export function loginTimeoutMs(v: TargetSettings): number {
  return Math.min(v.requestTimeoutMs, MAX_LOGIN_TIMEOUT_MS);
}

/** Transport, session and client for `v`, logging in with `password` (nothing connects until the first call). */
export function connectVim(
  v: TargetSettings,
  password: PasswordSource,
  ca: string | undefined,
  logger: Logger,
  opts: { maxConnections?: number; onCall?: TransportOptions['onCall'] } = {},
): VimConnection {
  // Every password read for a login is remembered, so a fault string echoing it is scrubbed at the
  // one place all of vCenter's answers pass, whoever made the call.
  const scrubber = new SecretScrubber();
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
    password,
    scrubber,
    keepaliveIntervalMs: v.keepaliveIntervalMs,
    loginTimeoutMs: loginTimeoutMs(v),
    logger,
    url: v.url,
  });
  return { transport, scrubber, session, client: new VimClient(transport, session, logger) };
}
