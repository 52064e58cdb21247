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

/** A large method body written straight into its request's bytes: no string of it outlives the write. */
export interface BodyWriter {
  /** The body's size in UTF-8 bytes. */
  readonly byteLength: number;
  /** Writes the body's UTF-8 at `at` (room for byteLength bytes); returns the index past it. */
  writeTo(bytes: Buffer, at: number): number;
}

/** A serialised method body: a string, or a writer of its bytes. */
export type SoapBody = string | BodyWriter;

/**
 * Wraps a method body in a SOAP envelope addressed to `_this`: a string for a string body; for a
 * writer, one buffer with the head, the body written in place and the tail.
 */
export function envelope(method: string, self: MoRef, body: SoapBody): string | Buffer {
  const head =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body><${method} xmlns="urn:vim25">${moRefEl('_this', self)}`;
  const tail = `</${method}></soapenv:Body></soapenv:Envelope>`;
  if (typeof body === 'string') return head + body + tail;
  const start = Buffer.byteLength(head);
  const bytes = Buffer.allocUnsafe(start + body.byteLength + Buffer.byteLength(tail));
  bytes.write(head);
  const end = body.writeTo(bytes, start);
  // A writer that wrote other than it announced would send a torn request (or stale bytes).
  if (end !== start + body.byteLength)
    throw new Error(`${method}: body wrote ${end - start} bytes, announced ${body.byteLength}`);
  bytes.write(tail, end);
  return bytes;
}
