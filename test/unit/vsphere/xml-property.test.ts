import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SoapXmlParser } from '../../../src/vsphere/soap/xml.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { cutAt } from '../../harness/chunks.js';

/** Feeds `chunks` and closes: returns the root's name, or the typed error — never anything else. */
function outcome(chunks: Uint8Array[]): string {
  const p = new SoapXmlParser();
  try {
    for (const c of chunks) p.write(c);
    return `ok:${p.close().name}`;
  } catch (e) {
    assert.ok(e instanceof VsphereError, `untyped error: ${String(e)}`);
    assert.equal(e.code, 'VSPHERE_BAD_RESPONSE');
    return 'error';
  }
}

const xmlish = fc.array(
  fc.oneof(
    fc.constantFrom(
      '<',
      '>',
      '/',
      '</a>',
      '<a>',
      '<b x="1">',
      '&amp;',
      '&#65;',
      '&#x1F600;',
      '&bogus;',
      '<!DOCTYPE a>',
      '<![CDATA[x]]>',
      '<?pi x?>',
      '"',
      "'",
      '=',
      ' ',
      '\u0000',
      '\uFFFE',
    ),
    fc.string(),
  ),
  { maxLength: 30 },
);

test('property: any input either parses or fails with a typed VSPHERE_BAD_RESPONSE error', () => {
  fc.assert(
    fc.property(xmlish, fc.uint8Array({ maxLength: 64 }), (parts, junk) => {
      outcome([Buffer.from(parts.join('')), junk]);
    }),
    { numRuns: 2000 },
  );
});

test('property: chunk boundaries never change the outcome', () => {
  fc.assert(
    fc.property(xmlish, fc.array(fc.nat(), { maxLength: 5 }), (parts, cuts) => {
      const whole = Buffer.from(`<r>${parts.join('')}</r>`);
      assert.equal(outcome(cutAt(whole, cuts)), outcome([whole]));
    }),
    { numRuns: 1000 },
  );
});
