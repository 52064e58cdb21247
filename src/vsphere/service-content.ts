import type { MoRef } from './soap/envelope.js';
import type { SoapTransport } from './soap/transport.js';
import { child, type XmlNode } from './soap/xml.js';
import { moRef } from './values.js';
import { VsphereError } from './errors.js';

/** The parts of ServiceContent the exporter uses. */
export interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  viewManager: MoRef;
  sessionManager: MoRef;
  perfManager?: MoRef;
  setting?: MoRef;
  /** Optional in the vim25 schema (ServiceContent.customFieldsManager). */
  customFieldsManager?: MoRef;
  /** Optional in the vim25 schema (ServiceContent.licenseManager). */
  licenseManager?: MoRef;
  /** Optional in the vim25 schema (ServiceContent.eventManager). */
  eventManager?: MoRef;
  about: {
    name: string;
    fullName: string;
    version: string;
    build: string;
    apiType: string;
    apiVersion: string;
    instanceUuid: string;
  };
}

/** The fixed reference every vSphere endpoint answers to. */
export const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

/** RetrieveServiceContent, which needs no session; also sets the SOAPAction version from `about.apiVersion`. */
export async function retrieveServiceContent(
  transport: SoapTransport,
  signal?: AbortSignal,
): Promise<ServiceContent> {
  const res = await transport.call('RetrieveServiceContent', SERVICE_INSTANCE, '', { signal });
  const rv = child(res, 'returnval');
  const need = (name: string): MoRef => {
    const ref = moRef(rv && child(rv, name));
    if (!ref) throw new VsphereError('VSPHERE_BAD_RESPONSE', `ServiceContent without ${name}`);
    return ref;
  };
  const about = rv && child(rv, 'about');
  const a = (k: string): string => (about && child(about, k)?.text) ?? '';
  const content: ServiceContent = {
    rootFolder: need('rootFolder'),
    propertyCollector: need('propertyCollector'),
    viewManager: need('viewManager'),
    sessionManager: need('sessionManager'),
    perfManager: optional(rv, 'perfManager'),
    setting: optional(rv, 'setting'),
    customFieldsManager: optional(rv, 'customFieldsManager'),
    licenseManager: optional(rv, 'licenseManager'),
    eventManager: optional(rv, 'eventManager'),
    about: {
      name: a('name'),
      fullName: a('fullName'),
      version: a('version'),
      build: a('build'),
      apiType: a('apiType'),
      apiVersion: a('apiVersion'),
      instanceUuid: a('instanceUuid'),
    },
  };
  // The SOAPAction namespace version selects the API version vCenter speaks to us.
  if (/^[0-9][0-9A-Za-z.]*$/.test(content.about.apiVersion)) transport.apiVersion = content.about.apiVersion;
  return content;
}

function optional(rv: XmlNode | undefined, name: string): MoRef | undefined {
  return moRef(rv && child(rv, name));
}
