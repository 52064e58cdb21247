import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { child, parseXml, SoapXmlParser } from '../../../src/vsphere/soap/xml.js';
import { xmlAttrs } from '../../../src/vsphere/answer-data.js';
import { faultToError } from '../../../src/vsphere/soap/faults.js';
import { envelope, escapeXml } from '../../../src/vsphere/soap/envelope.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

const ENV = (body: string): string =>
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
  `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

describe('SoapXmlParser', () => {
  test('builds a tree with local names, xsi:type local parts and MoRef types', () => {
    const root = parseXml(
      ENV(
        '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-1</obj>' +
          '<propSet><name>summary.config.numCpu</name><val xsi:type="xsd:int">4</val></propSet></objects></returnval></RetrievePropertiesExResponse>',
      ),
    );
    assert.equal(root.name, 'Envelope');
    const res = child(root, 'Body')!.children[0]!;
    assert.equal(res.name, 'RetrievePropertiesExResponse');
    const objects = child(child(res, 'returnval')!, 'objects')!;
    assert.deepEqual(child(objects, 'obj')!.attrs, xmlAttrs({ type: 'VirtualMachine' }));
    assert.equal(child(objects, 'obj')!.text, 'vm-1');
    const val = child(child(objects, 'propSet')!, 'val')!;
    assert.equal(val.attrs.type, 'int');
    assert.equal(val.text, '4');
  });

  test('resolves xsi:type through any prefix bound to the XML Schema instance namespace', () => {
    // vcsim binds the namespace to "XMLSchema-instance" instead of "xsi".
    const root = parseXml(
      '<r xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance"><v XMLSchema-instance:type="PerfMetricIntSeries"/></r>',
    );
    assert.equal(root.children[0]!.attrs.type, 'PerfMetricIntSeries');
  });

  test('a MoRef value keeps its own type whether xsi:type comes before or after it', () => {
    // vcsim 8 writes <val type="LicenseAssignmentManager" …:type="ManagedObjectReference">.
    const ns = 'xmlns:_XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance"';
    for (const v of [
      `<val type="Folder" ${ns} _XMLSchema-instance:type="ManagedObjectReference">group-4</val>`,
      `<val ${ns} _XMLSchema-instance:type="ManagedObjectReference" type="Folder">group-4</val>`,
    ])
      assert.equal(parseXml(`<r>${v}</r>`).children[0]!.attrs.type, 'Folder', v);
  });

  test('decodes entities and multi-byte UTF-8 split across chunks', () => {
    const xml = Buffer.from('<r><name>vm &amp; &lt;db&gt; ☃ ünï</name></r>');
    const p = new SoapXmlParser();
    // Split inside the 3-byte snowman.
    const cut = xml.indexOf(Buffer.from('☃')) + 1;
    p.write(xml.subarray(0, cut));
    p.write(xml.subarray(cut));
    assert.equal(p.close().children[0]!.text, 'vm & <db> ☃ ünï');
  });

  test('invalid UTF-8 becomes U+FFFD instead of failing the whole response', () => {
    const p = new SoapXmlParser();
    p.write(Buffer.concat([Buffer.from('<r>a'), Buffer.from([0xff, 0xfe]), Buffer.from('b</r>')]));
    assert.equal(p.close().text, 'a\uFFFD\uFFFDb');
  });

  test('rejects a DOCTYPE (no entity expansion, no billion laughs)', () => {
    const evil = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>';
    assert.throws(
      () => parseXml(evil),
      (e: unknown) =>
        e instanceof VsphereError && e.code === 'VSPHERE_BAD_RESPONSE' && /DOCTYPE/.test(e.message),
    );
  });

  test('rejects malformed, truncated, empty and non-XML input', () => {
    for (const bad of ['<r><a></r>', '<r><a>', '', 'Service Unavailable', '<r/><s/>', '<r>&undefined;</r>']) {
      assert.throws(
        () => parseXml(bad),
        (e: unknown) => e instanceof VsphereError && e.code === 'VSPHERE_BAD_RESPONSE',
        `input ${JSON.stringify(bad)}`,
      );
    }
  });

  test('namespaces: unbound or misused prefixes are rejected; scopes end with their element', () => {
    const bad = [
      '<p:r/>',
      '<r p:a="1"/>',
      '<r><a xmlns:p="urn:x"/><p:b/></r>',
      '<r xmlns:p=""><p:a/></r>',
      '<r xmlns:xmlns="urn:x"/>',
      '<r xmlns:p="http://www.w3.org/XML/1998/namespace"/>',
      '<r xmlns:xml="urn:not-xml"/>',
    ];
    for (const xml of bad) {
      assert.throws(() => parseXml(xml), VsphereError, xml);
    }
    const ok = parseXml(
      '<s:r xmlns:s="urn:s" xmlns="urn:d"><a xml:lang="en" xmlns:i="http://www.w3.org/2001/XMLSchema-instance" ' +
        'i:type="xsd:int">1</a><s:b xmlns:s="urn:other" type="HostSystem"/></s:r>',
    );
    assert.equal(ok.name, 'r');
    assert.deepEqual(ok.children[0]!.attrs, xmlAttrs({ lang: 'en', type: 'int' }));
    assert.deepEqual(ok.children[1]!.attrs, xmlAttrs({ type: 'HostSystem' }));
    // An xsi-looking prefix bound elsewhere is not xsi: its value is kept whole.
    assert.deepEqual(
      parseXml('<r xmlns:xsi="urn:not-xsi" xsi:type="a:b"/>').attrs,
      xmlAttrs({ type: 'a:b' }),
    );
  });

  test('rejects absurd nesting depth', () => {
    assert.throws(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100)), /nested deeper/);
  });

  test('property: any text survives escapeXml → parse', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        // XML 1.0 cannot carry most control characters at all; vCenter never sends them raw.
        // eslint-disable-next-line no-control-regex
        fc.pre(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(s));
        assert.equal(parseXml(`<r>${escapeXml(s)}</r>`).text, s.replace(/\r\n?/g, '\n'));
      }),
    );
  });
});

describe('faultToError', () => {
  const fault = (detail: string, text = 'msg'): VsphereError => {
    const root = parseXml(
      ENV(
        `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${text}</faultstring><detail>${detail}</detail></soapenv:Fault>`,
      ),
    );
    return faultToError(child(root, 'Body')!.children[0]!, 'Login');
  };

  test('maps known vim25 faults to stable codes', () => {
    const cases: [string, string][] = [
      ['<NotAuthenticatedFault xsi:type="NotAuthenticated"/>', 'VSPHERE_NOT_AUTHENTICATED'],
      ['<InvalidLoginFault xsi:type="InvalidLogin"/>', 'VSPHERE_INVALID_LOGIN'],
      [
        '<ManagedObjectNotFoundFault xsi:type="ManagedObjectNotFound"><obj type="ContainerView">session[1]2</obj></ManagedObjectNotFoundFault>',
        'VSPHERE_MANAGED_OBJECT_NOT_FOUND',
      ],
      [
        '<RestrictedByAdministratorFault xsi:type="RestrictedByAdministrator"/>',
        'VSPHERE_RESTRICTED_BY_ADMINISTRATOR',
      ],
      [
        '<InvalidArgumentFault xsi:type="InvalidArgument"><invalidProperty>x</invalidProperty></InvalidArgumentFault>',
        'VSPHERE_INVALID_ARGUMENT',
      ],
      ['<SomethingNewFault xsi:type="SomethingNew"/>', 'VSPHERE_FAULT'],
    ];
    for (const [detail, code] of cases) assert.equal(fault(detail).code, code, detail);
  });

  test('falls back to the element name when xsi:type is missing, and keeps the fault type', () => {
    const e = fault(
      '<InvalidLoginFault/>',
      'Cannot complete login due to an incorrect user name or password.',
    );
    assert.equal(e.code, 'VSPHERE_INVALID_LOGIN');
    assert.equal(e.faultType, 'InvalidLogin');
    assert.equal(e.method, 'Login');
    assert.match(e.message, /incorrect user name/);
  });

  test('a fault without detail is a generic fault', () => {
    assert.equal(fault('').code, 'VSPHERE_FAULT');
  });
});

describe('envelope', () => {
  test('escapes values and addresses _this', () => {
    const xml = envelope(
      'Login',
      { type: 'SessionManager', value: 'SessionManager' },
      `<userName>${escapeXml('a<b&"c\'')}</userName>`,
    );
    assert.match(
      xml as string,
      /<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager<\/_this><userName>a&lt;b&amp;&quot;c&apos;<\/userName><\/Login>/,
    );
    assert.equal(parseXml(xml as string).name, 'Envelope');
  });

  test('a body writer is written in place between head and tail, multi-byte text included', () => {
    const self = { type: 'PerformanceManager', value: 'PerfMgr-ü' };
    const text = '<querySpec><entity type="VirtualMachine">vm-1</entity></querySpec><a>ünï☃😀</a>';
    const writer = (announced: number) => ({
      writeInto: (room: (n: number) => { bytes: Buffer; at: number }) => {
        const { bytes, at } = room(announced);
        return at + bytes.write(text, at);
      },
    });
    const bytes = envelope('QueryPerf', self, writer(Buffer.byteLength(text)));
    assert.ok(Buffer.isBuffer(bytes));
    assert.deepEqual(bytes, Buffer.from(envelope('QueryPerf', self, text) as string));
    const empty = { writeInto: (room: (n: number) => { bytes: Buffer; at: number }) => room(0).at };
    assert.deepEqual(
      envelope('QueryPerf', self, empty),
      Buffer.from(envelope('QueryPerf', self, '') as string),
    );
    // A writer that writes less than it announced would leave stale bytes in the request.
    assert.throws(
      () => envelope('QueryPerf', self, writer(Buffer.byteLength(text) + 1)),
      /body wrote \d+ bytes, announced/,
    );
  });
});
