import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, SoapXmlParser, type XmlNode } from '../../../src/vsphere/soap/xml.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

// The tokenizer's fast paths (ASCII names, end tags matched in place, attribute runs, interned names,
// the last namespace prefix remembered, StringDecoder) must read a document the same however it is cut.

function plain(n: XmlNode): unknown {
  return { name: n.name, attrs: { ...n.attrs }, text: n.text, children: n.children.map(plain) };
}

function inChunks(bytes: Buffer, cuts: number[]): XmlNode {
  const p = new SoapXmlParser();
  let at = 0;
  for (const c of cuts) {
    p.write(bytes.subarray(at, c));
    at = c;
  }
  p.write(bytes.subarray(at));
  return p.close();
}

const DOC =
  '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\r\n<r xmlns:x="urn:x" xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance">' +
  '<résumé\tx:a="1"\r\nb=\'2\'>t</résumé><a·b>u</a·b><x:long-name.with_all/>' +
  '<v XMLSchema-instance:type="xsd:int"><id>1</id><value>2</value></v><v XMLSchema-instance:type="PerfMetricIntSeries"><id>3</id><value>4</value></v>' +
  '<q xmlns:x="urn:other" x:a="z"><id>5</id></q><id\n>6</id\t>' +
  '<w k="a &amp; b&#9;c\td\ne \'q\' é &lt;" k2=\'say "hi"\' k3=""/></r>';

describe('SoapXmlParser fast paths and chunk boundaries', () => {
  test('a document split at every byte reads as the whole (names, attributes, CR/LF/TAB after names, BOM)', () => {
    const bytes = Buffer.from(DOC, 'utf8');
    const whole = plain(inChunks(bytes, []));
    const root = whole as { children: { name: string; attrs: Record<string, string> }[] };
    assert.deepEqual(
      root.children.map((c) => c.name),
      ['résumé', 'a·b', 'long-name.with_all', 'v', 'v', 'q', 'id', 'w'],
    );
    assert.deepEqual(root.children[7]!.attrs, { k: "a & b\tc d e 'q' é <", k2: 'say "hi"', k3: '' });
    assert.deepEqual(root.children[0]!.attrs, { a: '1', b: '2' });
    assert.deepEqual(root.children[3]!.attrs, { type: 'int' });
    assert.deepEqual(root.children[4]!.attrs, { type: 'PerfMetricIntSeries' });
    for (let cut = 1; cut < bytes.length; cut++)
      assert.deepEqual(plain(inChunks(bytes, [cut])), whole, `cut at ${cut}`);
    for (let cut = 1; cut + 7 < bytes.length; cut += 3)
      assert.deepEqual(plain(inChunks(bytes, [cut, cut + 2, cut + 7])), whole, `cuts at ${cut}`);
  });

  test('a prefix rebound by an inner element resolves to its new namespace, and back after it', () => {
    const root = parseXml(
      '<r xmlns:p="http://www.w3.org/2001/XMLSchema-instance"><a p:type="x:A"/>' +
        '<b xmlns:p="urn:other" p:type="x:B"/><c p:type="x:C"/></r>',
    );
    assert.deepEqual(
      root.children.map((c) => c.attrs.type),
      ['A', 'x:B', 'C'],
    );
    assert.throws(
      () => parseXml('<r><a xmlns:p="urn:p" p:x="1"/><b p:x="2"/></r>'),
      (e: unknown) => e instanceof VsphereError && /unbound namespace prefix/.test(e.message),
    );
  });

  test('names XML rejects are rejected, however the chunks fall', () => {
    for (const bad of [
      '<r><a\u0001/></r>',
      '<r><1a/></r>',
      '<r><a\u007f/></r>',
      '<r></r\u0002>',
      '<r><a b\u0001="1"/></r>',
    ]) {
      const bytes = Buffer.from(bad, 'utf8');
      for (let cut = 1; cut < bytes.length; cut++)
        assert.throws(
          () => inChunks(bytes, [cut]),
          (e: unknown) => e instanceof VsphereError && e.code === 'VSPHERE_BAD_RESPONSE',
          `${JSON.stringify(bad)} cut at ${cut}`,
        );
    }
  });
});
