import assert from 'node:assert/strict';
import type { SoapBody } from '../../src/vsphere/soap/envelope.js';

/** A method body as text, as a fake client reads it: a writer's bytes written (and their size checked). */
export function bodyText(body: SoapBody): string {
  if (typeof body === 'string') return body;
  const bytes = Buffer.alloc(body.byteLength);
  assert.equal(body.writeTo(bytes, 0), body.byteLength, 'the writer wrote as many bytes as it announced');
  return bytes.toString('utf8');
}
