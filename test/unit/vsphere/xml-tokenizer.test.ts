/** The XML tokenizer's streaming behaviour and well-formedness rules, through SoapXmlParser. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, SoapXmlParser, type ElementReader } from '../../../src/vsphere/soap/xml.js';
import { xmlAttrs } from '../../../src/vsphere/answer-data.js';
import { xmlLimits } from '../../../src/vsphere/soap/xml-limits.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

const bad = (e: unknown): boolean => e instanceof VsphereError && e.code === 'VSPHERE_BAD_RESPONSE';

function inChunks(parts: string[]): SoapXmlParser {
  const p = new SoapXmlParser();
  for (const part of parts) p.write(Buffer.from(part, 'utf8'));
  return p;
}

describe('XML tokenizer: streaming', () => {
  test('text is told to a reader as it arrives, before the element or the answer ends', () => {
    const told: string[] = [];
    const reader: ElementReader = {
      open: () => undefined,
      text: (t) => told.push(t),
      close: () => undefined,
    };
    const p = new SoapXmlParser({ depth: 1, name: 'v', reader });
    p.write('<r><v>12');
    assert.deepEqual(told, ['12']);
    p.write('34&amp;');
    p.write('5</v></r>');
    p.close();
    assert.deepEqual(told, ['12', '34&', '5']);
  });

  test('CR LF and lone CR read as LF in text, and as one space in attribute values, across chunk boundaries', () => {
    const root = inChunks(['<r a="x\r', '\ny\rz"><t>a\r', '\nb\r', 'c\r', '</t></r>']).close();
    assert.equal(root.attrs.a, 'x y z');
    assert.equal(root.children[0]!.text, 'a\nb\nc\n');
  });

  test(
    'a start tag of 30 MB arriving in 64 KiB chunks is read in linear time, its value whole',
    { timeout: 60_000 },
    () => {
      const p = new SoapXmlParser(undefined, xmlLimits(64 * 1024 * 1024));
      p.write('<r a="');
      const chunk = 'x'.repeat(64 * 1024);
      const chunks = Math.ceil((30 * 1024 * 1024) / chunk.length);
      for (let i = 0; i < chunks; i++) p.write(chunk);
      p.write('" b="1"/>');
      const root = p.close();
      assert.equal(root.attrs.a!.length, chunks * chunk.length);
      assert.equal(root.attrs.b, '1');
    },
  );

  test('element and attribute names and references split anywhere read the same', () => {
    const doc =
      '<ns:root xmlns:ns="urn:x" long-attribute-name="v&#x41;&amp;w"><child>t&#65;</child></ns:root>';
    for (let cut = 1; cut < doc.length; cut++) {
      const root = inChunks([doc.slice(0, cut), doc.slice(cut)]).close();
      assert.equal(root.name, 'root');
      assert.equal(root.attrs['long-attribute-name'], 'vA&w', `cut at ${cut}`);
      assert.equal(root.children[0]!.text, 'tA', `cut at ${cut}`);
    }
  });
});

describe('XML tokenizer: well-formedness', () => {
  test('comments, processing instructions and CDATA are read past; CDATA content is not text', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?><!-- c --><?pi x?><r>a<!-- - -->b<?p ?>c<![CDATA[<x>]]]>d</r><!---->',
    );
    assert.equal(root.text, 'abcd');
  });

  test('refuses what XML 1.0 forbids', () => {
    for (const doc of [
      '<r>a</r> b',
      'b<r/>',
      ' <?xml version="1.0"?><r/>',
      '<r/><?xml version="1.0"?>',
      '<?xml version="1.0" encoding="UTF-8" standalone="maybe"?><r/>',
      '<r><!-- a -- b --></r>',
      '<r>]]></r>',
      '<r><![CDATA[x]]></r><![CDATA[y]]>',
      '<r a="1" a="2"/>',
      '<r a="1"b="2"/>',
      '<r a=1/>',
      '<r a="<"/>',
      '<r>&amp</r>',
      '<r>& b</r>',
      '<r>&#xD;&#;</r>',
      '<r>\u0007</r>',
      '<r></R>',
      '<r><a></r></a>',
      '<r><!DOCTYPE r></r>',
      '<r',
      '<r><!-- open',
    ])
      assert.throws(() => parseXml(doc), bad, JSON.stringify(doc));
  });

  test('an error names a hostile name by its first characters only', () => {
    const long = 'n'.repeat(1_000_000);
    for (const doc of [`<r></${long}>`, `<r ${long}="1" ${long}="2"/>`, `<r><${long}>`, `<p:${long}/>`])
      assert.throws(
        () => parseXml(doc),
        (e: unknown) => bad(e) && (e as Error).message.length < 200,
      );
  });

  test('attribute values: entities expanded, white space normalised, > and ]]> allowed', () => {
    assert.deepEqual(
      parseXml(`<r a="&lt;&gt;&quot;&apos;&#x20;]]>\t." b='"'/>`).attrs,
      xmlAttrs({ a: `<>"' ]]> .`, b: '"' }),
    );
  });
});
