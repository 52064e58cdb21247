import assert from 'node:assert/strict';
import type { SoapBody } from '../../src/vsphere/soap/envelope.js';

/** A method body as text, as a fake client reads it: a writer's bytes written (and their size checked). */
export function bodyText(body: SoapBody): string {
  if (typeof body === 'string') return body;
  let bytes = Buffer.alloc(0);
  const end = body.writeInto((byteLength) => ({ bytes: (bytes = Buffer.alloc(byteLength)), at: 0 }));
  assert.equal(end, bytes.length, 'the writer wrote as many bytes as it announced');
  return bytes.toString('utf8');
}
