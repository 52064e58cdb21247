import { VsphereError, type VsphereErrorCode } from '../errors.js';
import { child, type XmlNode } from './xml.js';

// vim25 fault types with a code of their own; subtypes of InvalidLogin (e.g. an SSO lockout) keep
// their own faultType but share the code so the session's backoff treats them alike. A Map, not an
// object: the type is a string from vCenter, and "constructor" or "__proto__" must stay data.
const FAULT_CODES: ReadonlyMap<string, VsphereErrorCode> = new Map<string, VsphereErrorCode>([
  ['NotAuthenticated', 'VSPHERE_NOT_AUTHENTICATED'],
  ['InvalidLogin', 'VSPHERE_INVALID_LOGIN'],
  ['PasswordExpired', 'VSPHERE_INVALID_LOGIN'],
  ['ManagedObjectNotFound', 'VSPHERE_MANAGED_OBJECT_NOT_FOUND'],
  ['RestrictedByAdministrator', 'VSPHERE_RESTRICTED_BY_ADMINISTRATOR'],
  ['InvalidArgument', 'VSPHERE_INVALID_ARGUMENT'],
  ['InvalidProperty', 'VSPHERE_INVALID_ARGUMENT'],
  ['InvalidRequest', 'VSPHERE_INVALID_ARGUMENT'],
]);

/**
 * Turns a `<Fault>` element into a typed VsphereError (the fault string is kept, truncated). `scrub`
 * runs before the cut: a secret echoed across the cut would otherwise survive as a prefix.
 */
export function faultToError(
  fault: XmlNode,
  method: string,
  scrub: (text: string) => string = (t) => t,
): VsphereError {
  const detail = child(fault, 'detail');
  const first = detail?.children[0];
  // The detail element is named "<Type>Fault" and carries xsi:type="<Type>"; older servers omit one or the other.
  const faultType = (
    first?.attrs.type ??
    (first ? first.name.replace(/Fault$/, '') : undefined) ??
    'UnknownFault'
  ).slice(0, 100);
  const faultString = scrub((child(fault, 'faultstring')?.text ?? '').trim()).slice(0, 300);
  const code = FAULT_CODES.get(faultType) ?? 'VSPHERE_FAULT';
  const text = faultString ? `${faultType}: ${faultString}` : faultType;
  const missing = code === 'VSPHERE_MANAGED_OBJECT_NOT_FOUND' ? missingObject(first) : undefined;
  return new VsphereError(code, `${method}: vCenter fault ${text}`, { faultType, method, missing });
}

// A method's arguments name deleted objects too (a VM gone between an update and a QueryPerf):
// vCenter then faults the whole call, naming the object in the detail's <obj type="T">moid</obj>.
function missingObject(detail: XmlNode | undefined): { type: string; value: string } | undefined {
  const obj = detail && child(detail, 'obj');
  const type = obj?.attrs.type;
  if (!obj || !type || !obj.text) return undefined;
  return { type: type.slice(0, 100), value: obj.text.slice(0, 200) };
}
