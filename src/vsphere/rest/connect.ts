import type { Logger } from 'pino';
import { readPassword } from '../../config/load.js';
import type { VsphereConfig } from '../../config/schema.js';
import { connectionOptions } from '../connect.js';
import { RestSession } from './session.js';
import { RestTransport } from './transport.js';

// The tag collector's calls are few and mostly sequential; a handful of sockets is plenty.
const MAX_REST_CONNECTIONS = 4;

/** A vAPI session to the vCenter of `v` (REST base: the SOAP URL's origin), same TLS and limits as SOAP. */
export function connectRest(v: VsphereConfig, ca: string | undefined, logger: Logger): RestSession {
  const transport = new RestTransport({
    ...connectionOptions(v, ca, Math.min(v.maxConnections, MAX_REST_CONNECTIONS)),
    origin: v.url.origin,
  });
  return new RestSession(transport, { user: v.user, password: () => readPassword(v), logger });
}
