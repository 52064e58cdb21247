import type { Logger } from 'pino';
import type { PasswordSource, TargetSettings } from '../credentials.js';
import { connectionOptions, loginTimeoutMs } from '../connect.js';
import type { SecretScrubber } from '../secret-scrub.js';
import { RestSession } from './session.js';
import { RestTransport } from './transport.js';

// The tag collector's calls are few and mostly sequential; a handful of sockets is plenty.
const MAX_REST_CONNECTIONS = 4;

/**
 * A vAPI session to the vCenter of `v` (REST base: the SOAP URL's origin), same TLS, limits and
 * login deadline as SOAP; `scrubber` (the SOAP connection's) learns the passwords it sends.
 */
export function connectRest(
  v: TargetSettings,
  password: PasswordSource,
  ca: string | undefined,
  logger: Logger,
  scrubber?: SecretScrubber,
): RestSession {
  const transport = new RestTransport({
    ...connectionOptions(v, ca, Math.min(v.maxConnections, MAX_REST_CONNECTIONS)),
    origin: v.url.origin,
  });
  return new RestSession(transport, {
    user: v.user,
    password,
    logger,
    scrubber,
    loginTimeoutMs: loginTimeoutMs(v),
  });
}
