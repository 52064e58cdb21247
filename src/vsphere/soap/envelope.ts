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
  /**
   * Sizes the body's UTF-8, asks `room` for a buffer with that many bytes free from `at`, writes
   * it there and returns the index past it. One call does both, so what it makes to size the
   * body serves the write and is dropped with the call (it may be called again: a call sent anew).
   */
  writeInto(room: (byteLength: number) => { bytes: Buffer; at: number }): number;
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
  let bytes: Buffer | undefined;
  let announced = 0;
  const end = body.writeInto((byteLength) => {
    announced = byteLength;
    bytes = Buffer.allocUnsafe(start + byteLength + Buffer.byteLength(tail));
    bytes.write(head);
    return { bytes, at: start };
  });
  // A writer that wrote other than it announced would send a torn request (or stale bytes).
  if (!bytes || end !== start + announced)
    throw new Error(`${method}: body wrote ${end - start} bytes, announced ${announced}`);
  bytes.write(tail, end);
  return bytes;
}
