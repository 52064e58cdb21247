/**
 * Canned response bodies for the fault proxy (test/harness/fault-proxy.ts): broken, hostile or
 * merely unexpected answers a real vCenter (or the proxy in front of it) can produce.
 */
import type { VsphereError } from '../../src/vsphere/errors.js';
import { faultToError } from '../../src/vsphere/soap/faults.js';
import { child, parseXml } from '../../src/vsphere/soap/xml.js';

/** Opening of a vim25 SOAP envelope, up to and including `<soapenv:Body>`. */
export const ENVELOPE_HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"' +
  ' xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
  ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n' +
  '<soapenv:Body>';

/** Closing of a vim25 SOAP envelope. */
export const ENVELOPE_TAIL = '</soapenv:Body>\n</soapenv:Envelope>';

/** What a reverse proxy answers when the request failed behind it. */
export const HTML_500 = '<html><body><h1>500 Internal Server Error</h1></body></html>';

/** What vCenter's reverse proxy (rhttpproxy/envoy) answers while vpxd is restarting. */
export const HTML_503 =
  '<html><body><h1>503 Service Unavailable</h1>Failed to connect to endpoint: ' +
  '[N7Vmacore4Http16LocalServiceSpecE:0x00007f3c2c0a1b20] _serverNamespace = /sdk action = Allow ' +
  '_port = 8085)</body></html>';

/** A complete SOAP envelope wrapping `inner` in the Body. */
export function soapEnvelope(inner: string): string {
  return ENVELOPE_HEAD + inner + ENVELOPE_TAIL;
}

/** A SOAP Fault envelope (ServerFaultCode) with the given fault string and `<detail>` content. */
export function soapFault(faultString: string, detail: string): string {
  return soapEnvelope(
    '<soapenv:Fault><faultcode>ServerFaultCode</faultcode>' +
      `<faultstring>${faultString}</faultstring><detail>${detail}</detail></soapenv:Fault>`,
  );
}

/** A fault whose detail has a type nobody knows (FrobnicationFault). */
export function unknownFault(): string {
  return soapFault(
    'The frobnication matrix is misaligned.',
    '<FrobnicationFaultFault xmlns="urn:vim25" xsi:type="FrobnicationFault">' +
      '<reason>flux capacitor</reason></FrobnicationFaultFault>',
  );
}

/**
 * A fault whose detail names `type` (e.g. "constructor", "__proto__": names on Object.prototype),
 * with `fields` as the detail's content (e.g. ManagedObjectNotFound's `<obj type="T">moid</obj>`).
 */
export function typedFault(
  type: string,
  faultString = `A fault of type ${type}.`,
  fields = '<reason>odd</reason>',
): string {
  return soapFault(
    faultString,
    `<${type}Fault xmlns="urn:vim25" xsi:type="${type}">${fields}</${type}Fault>`,
  );
}

/**
 * The error our SOAP transport makes of a QueryPerf answered with typedFault(type, faultString,
 * fields), or with a fault without detail when `type` is undefined: for unit tests of what callers do with it.
 */
export function faultError(type: string | undefined, faultString: string, fields?: string): VsphereError {
  const envelope = parseXml(type ? typedFault(type, faultString, fields) : soapFault(faultString, ''));
  return faultToError(child(child(envelope, 'Body')!, 'Fault')!, 'QueryPerf');
}

/** The NotAuthenticated fault vCenter returns when a session cookie is unknown or expired. */
export function notAuthenticated(): string {
  return soapFault(
    'The session is not authenticated.',
    '<NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated">' +
      '<object type="Folder">group-d1</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault>',
  );
}

/** Billion laughs: ten levels of entities, each expanding to ten of the previous one (10^9 "lol"s). */
export function doctypeBomb(method: string): string {
  const entities = ['<!ENTITY lol0 "lol">'];
  for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
  const head = ENVELOPE_HEAD.replace(
    '<soapenv:Envelope',
    `<!DOCTYPE soapenv:Envelope [\n${entities.join('\n')}\n]>\n<soapenv:Envelope`,
  );
  return (
    head +
    `<${method}Response xmlns="urn:vim25"><returnval><name>&lol9;</name></returnval></${method}Response>` +
    ENVELOPE_TAIL
  );
}

/** `<methodResponse>` holding a chain of `depth` nested `<returnval>` elements. */
export function deepNesting(method: string, depth = 10_000): string {
  return soapEnvelope(
    `<${method}Response xmlns="urn:vim25">${'<returnval>'.repeat(depth)}x` +
      `${'</returnval>'.repeat(depth)}</${method}Response>`,
  );
}

/** `<methodResponse><returnval>` whose one text node is `count` character references (`&#65;`). */
export function charRefs(method: string, count = 100_000): string {
  return soapEnvelope(
    `<${method}Response xmlns="urn:vim25"><returnval>${'&#65;'.repeat(count)}</returnval></${method}Response>`,
  );
}

/**
 * A valid-looking RetrievePropertiesEx-style response of exactly `bytes` bytes (or the minimal
 * envelope, if larger), generated lazily in chunks of about 64 KiB.
 */
export function* hugeBody(method: string, bytes: number): Generator<Buffer> {
  const head = Buffer.from(`${ENVELOPE_HEAD}<${method}Response xmlns="urn:vim25"><returnval>`);
  const tail = Buffer.from(`</returnval></${method}Response>${ENVELOPE_TAIL}`);
  const unit =
    '<objects><obj type="VirtualMachine">vm-1</obj><propSet><name>name</name><val>vm</val></propSet></objects>\n';
  const block = Buffer.from(unit.repeat(Math.floor(65_536 / unit.length)));
  yield head;
  let left = Math.max(0, bytes - head.length - tail.length);
  while (left >= block.length) {
    yield block;
    left -= block.length;
  }
  // Whitespace between elements keeps the document well-formed while hitting the exact size.
  if (left > 0) yield Buffer.alloc(left, ' ');
  yield tail;
}

/** `<methodResponse><returnval>` holding empty elements (`<a/>`) up to about `bytes`, in 64 KiB chunks. */
export function* elementFlood(method: string, bytes: number): Generator<Buffer> {
  const head = Buffer.from(`${ENVELOPE_HEAD}<${method}Response xmlns="urn:vim25"><returnval>`);
  const tail = Buffer.from(`</returnval></${method}Response>${ENVELOPE_TAIL}`);
  const block = Buffer.from('<a/>'.repeat(16_384));
  yield head;
  for (let left = bytes - head.length - tail.length; left > 0; left -= block.length)
    yield left >= block.length ? block : block.subarray(0, left - (left % 4));
  yield tail;
}

/** `<methodResponse><returnval>` with one element carrying `count` attributes (`a0="" a1="" …`), in ~64 KiB chunks. */
export function* attributeFlood(method: string, count: number): Generator<Buffer> {
  yield Buffer.from(`${ENVELOPE_HEAD}<${method}Response xmlns="urn:vim25"><returnval><a`);
  const per = 5000;
  for (let i = 0; i < count; i += per) {
    let s = '';
    for (let j = i; j < Math.min(count, i + per); j++) s += ` a${j}=""`;
    yield Buffer.from(s);
  }
  yield Buffer.from(`/></returnval></${method}Response>${ENVELOPE_TAIL}`);
}
