import type { MoRef } from '../answer-data.js';

export type { MoRef } from '../answer-data.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text and attribute content for XML. */
export function escapeXml(s: string): string {
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : s;
}

/** `<name>text</name>`, text escaped. */
export function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<name type="T">moid</name>`. */
export function moRefEl(name: string, ref: MoRef): string {
  return `<${name} type="${escapeXml(ref.type)}">${escapeXml(ref.value)}</${name}>`;
}

/** A serialised method body: a string, or its UTF-8 bytes (a large body written as it was made). */
export type SoapBody = string | Uint8Array;

/**
 * Wraps a method body in a SOAP envelope addressed to `_this`: a string for a string body, bytes
 * for bytes.
 */
export function envelope(method: string, self: MoRef, body: SoapBody): string | Buffer {
  const head =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body><${method} xmlns="urn:vim25">${moRefEl('_this', self)}`;
  const tail = `</${method}></soapenv:Body></soapenv:Envelope>`;
  if (typeof body === 'string') return head + body + tail;
  return Buffer.concat([Buffer.from(head), body, Buffer.from(tail)]);
}
