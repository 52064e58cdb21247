import type { ServiceContent } from './service-content.js';
import { isVsphereError } from './errors.js';
import type { SoapTransport } from './soap/transport.js';
import { child } from './soap/xml.js';
import { moRefEl } from './soap/envelope.js';

/**
 * Whether the session the transport holds still lives on vCenter: one method can refuse with
 * NotAuthenticated while the session is fine. Throws when the answer is unknown (timeout, network,
 * abort): logging in again then would orphan a session that may well still be alive.
 */
export async function sessionAlive(
  transport: SoapTransport,
  content: ServiceContent,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    // Straight on the transport, not retrieveOne(): that goes through VimClient.invoke, whose
    // NotAuthenticated handling would call back into the session's recovery.
    const res = await transport.call(
      'RetrievePropertiesEx',
      content.propertyCollector,
      '<specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet>' +
        `<objectSet>${moRefEl('obj', content.sessionManager)}</objectSet></specSet><options/>`,
      { signal },
    );
    // An expired session reads currentSession as unset rather than failing.
    const returnval = child(res, 'returnval');
    const objects = returnval && child(returnval, 'objects');
    return objects !== undefined && child(objects, 'propSet') !== undefined;
  } catch (e) {
    if (isVsphereError(e, 'VSPHERE_NOT_AUTHENTICATED')) return false;
    throw e;
  }
}
