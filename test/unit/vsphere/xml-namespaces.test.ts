import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceScopes, XSI } from '../../../src/vsphere/soap/xml-namespaces.js';

test('resolve of a prefix cut from the text: its memo dropped when bindings change', () => {
  const ns = new NamespaceScopes();
  const at = (s: string, prefix: string) =>
    ns.resolve(s.slice(s.indexOf(prefix), s.indexOf(prefix) + prefix.length));
  assert.equal(ns.declare(0, 'xmlns:xsi', XSI), undefined);
  const text = '<value xsi:type="x"><value xs:type="y"><value xsix:type="z">';
  assert.equal(at(text, 'xsi'), XSI);
  // Same length or a longer name starting the same way: not the memo's prefix.
  assert.equal(at(text, 'xs'), undefined);
  assert.equal(at(text, 'xsix'), undefined);
  assert.equal(at(text, 'xsi'), XSI);
  // Rebound on a deeper element, then that element closes: the memo follows both.
  ns.declare(1, 'xmlns:xsi', 'urn:other');
  assert.equal(at(text, 'xsi'), 'urn:other');
  ns.close(1);
  assert.equal(at(text, 'xsi'), XSI);
  ns.close(0);
  assert.equal(at(text, 'xsi'), undefined);
  assert.equal(ns.resolve('xml:lang'.slice(0, 3)), 'http://www.w3.org/XML/1998/namespace');
});

test('version changes with every declaration and scope end, and no two parsers share one', () => {
  const a = new NamespaceScopes();
  const b = new NamespaceScopes();
  const seen = new Set([a.version, b.version]);
  assert.equal(seen.size, 2);
  a.declare(1, 'xmlns:xsi', XSI);
  assert.ok(!seen.has(a.version));
  seen.add(a.version);
  // Closing an element without bindings changes nothing.
  const before = a.version;
  a.close(2);
  assert.equal(a.version, before);
  a.close(1);
  assert.ok(!seen.has(a.version));
  assert.ok(a.bound('xml') && !a.bound('xsi'));
});
