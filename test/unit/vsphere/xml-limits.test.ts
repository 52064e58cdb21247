/** The shape bounds of one SOAP answer: elements, elements held at once, attributes per element. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, SoapXmlParser, type StreamSpec } from '../../../src/vsphere/soap/xml.js';
import { xmlLimits, type XmlLimits } from '../../../src/vsphere/soap/xml-limits.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

const MiB = 1024 * 1024;
const code = (c: string, re: RegExp) => (e: unknown) =>
  e instanceof VsphereError && e.code === c && re.test(e.message);
const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body>';
const TAIL = '</soapenv:Body></soapenv:Envelope>';
const small: XmlLimits = {
  maxElements: 1000,
  maxStreamedElements: 1000,
  maxStreamedBytes: 1 * MiB,
  maxHeldChars: 1 * MiB,
  maxHeldElements: 300,
  maxAttributes: 8,
  maxDepth: 64,
};

describe('xmlLimits', () => {
  test('scale with the byte cap, with floors for small caps', () => {
    assert.deepEqual(xmlLimits(32 * MiB), {
      maxElements: 4 * MiB,
      maxStreamedElements: 128 * MiB,
      maxStreamedBytes: 1024 * MiB,
      maxHeldChars: 32 * MiB,
      maxHeldElements: 512 * 1024,
      maxAttributes: 256,
      maxDepth: 64,
    });
    const tiny = xmlLimits(MiB);
    assert.equal(tiny.maxElements, 200_000);
    assert.equal(tiny.maxHeldElements, 100_000);
  });

  test('a real answer at the densest (QueryPerf series with xsi:type, ~31 MiB, streamed per entity) passes', () => {
    const series = (id: number): string =>
      `<value xsi:type="PerfMetricIntSeries"><id><counterId>${id}</counterId><instance></instance></id><value>${id * 7}</value></value>`;
    const entity = (i: number): string =>
      `<returnval xsi:type="PerfEntityMetric"><entity type="VirtualMachine">vm-${i}</entity>` +
      `<sampleInfo><timestamp>2026-12-06T12:00:00Z</timestamp><interval>20</interval></sampleInfo>` +
      Array.from({ length: 17 }, (_, k) => series(k + 2)).join('') +
      '</returnval>';
    const block = Buffer.from(Array.from({ length: 20 }, (_, i) => entity(i)).join(''));
    let entities = 0;
    const stream: StreamSpec = { depth: 3, name: 'returnval', onElement: () => void entities++ };
    const p = new SoapXmlParser(stream, xmlLimits(32 * MiB));
    p.write(`${HEAD}<QueryPerfResponse xmlns="urn:vim25">`);
    let bytes = 0;
    for (; bytes + block.length < 31 * MiB; bytes += block.length) p.write(block);
    p.write(`</QueryPerfResponse>${TAIL}`);
    p.close();
    assert.equal(entities, (bytes / block.length) * 20);
  });
});

describe('SoapXmlParser bounds', () => {
  test('attributes: up to the bound is fine, one more is a bad answer', () => {
    const el = (n: number): string => `<r ${Array.from({ length: n }, (_, i) => `a${i}="1"`).join(' ')}/>`;
    assert.equal(Object.keys(parseXml(el(8), undefined, small).attrs).length, 8);
    assert.throws(
      () => parseXml(el(9), undefined, small),
      code('VSPHERE_BAD_RESPONSE', /more than 8 attributes/),
    );
  });

  test('an element with millions of attributes is refused in the chunk that crosses the bound', () => {
    const p = new SoapXmlParser(undefined, xmlLimits(32 * MiB));
    p.write('<r');
    const chunk = Buffer.from(Array.from({ length: 5000 }, (_, i) => ` a${i}=""`).join(''));
    assert.throws(() => p.write(chunk), code('VSPHERE_BAD_RESPONSE', /more than 256 attributes/));
  });

  test('elements held at once: streamed ones leave the count as they are handed over', () => {
    const objects = '<objects><obj>x</obj></objects>'.repeat(200); // 400 elements, 2 held at a time
    let n = 0;
    const stream: StreamSpec = { depth: 1, name: 'objects', onElement: () => void n++ };
    parseXml(`<r>${objects}</r>`, stream, small);
    assert.equal(n, 200);
    assert.throws(
      () => parseXml(`<r>${objects}</r>`, undefined, small),
      code('VSPHERE_RESPONSE_TOO_LARGE', /more than 300 elements held at once/),
    );
  });

  test('elements in all: streamed ones count', () => {
    const stream: StreamSpec = { depth: 1, name: 'a', onElement: () => undefined };
    parseXml(`<r>${'<a/>'.repeat(999)}</r>`, stream, small);
    assert.throws(
      () => parseXml(`<r>${'<a/>'.repeat(1000)}</r>`, stream, small),
      code('VSPHERE_RESPONSE_TOO_LARGE', /more than 1000 elements/),
    );
  });

  test('a reader failing on a handed-over element makes a bad answer, not a connection error', () => {
    const stream: StreamSpec = {
      depth: 1,
      name: 'a',
      onElement: () => {
        throw new TypeError('x is not a function');
      },
    };
    assert.throws(
      () => parseXml('<r><a/></r>', stream),
      code('VSPHERE_BAD_RESPONSE', /unreadable a element/),
    );
  });
});

describe('the byte cap of a streamed answer: what is held at once, not the total', () => {
  // A WaitForUpdatesEx answer as vcsim sends a first read: every object in one answer.
  const update = (i: number, pad = 0): string =>
    `<objectSet><kind>enter</kind><obj type="VirtualMachine">vm-${i}</obj>` +
    `<changeSet><name>name</name><op>assign</op><val xsi:type="xsd:string">vm-${i}${'x'.repeat(pad)}</val></changeSet></objectSet>`;
  const open = `${HEAD}<WaitForUpdatesExResponse xmlns="urn:vim25"><returnval><filterSet><filter type="PropertyFilter">f</filter>`;
  const close = `</filterSet><version>1</version></returnval></WaitForUpdatesExResponse>${TAIL}`;
  const limits = xmlLimits(MiB); // 1 MiB held at once, 32 MiB in all

  function parseStreamed(parts: Iterable<string>): number {
    let n = 0;
    const p = new SoapXmlParser({ depth: 5, name: 'objectSet', onElement: () => void n++ }, limits);
    for (const part of parts) p.write(part);
    p.close();
    return n;
  }
  function* objects(count: number, pad = 0, between = ''): Generator<string> {
    yield open;
    for (let i = 0; i < count; i += 100)
      yield Array.from({ length: 100 }, (_, k) => update(i + k, pad)).join(between);
    yield close;
  }

  test('an answer 8 times the cap whose objects each fit is read whole', () => {
    // ~8 MiB: 40,000 objects of ~210 bytes.
    assert.equal(parseStreamed(objects(40_000)), 40_000);
  });

  test('one object larger than the cap is refused', () => {
    assert.throws(
      () => parseStreamed([open, update(1), update(2, 1100 * 1024), close]),
      code('VSPHERE_RESPONSE_TOO_LARGE', /characters held at once \(one objectSet element/),
    );
  });

  test('what is not streamed is held: text between the objects counts against the cap', () => {
    // 1.2 MiB of whitespace kept in filterSet's text, in slices between small objects.
    assert.throws(
      () => parseStreamed(objects(12_000, 0, ' '.repeat(100))),
      code('VSPHERE_RESPONSE_TOO_LARGE', /characters held at once/),
    );
  });

  test('fan-out is still refused: empty elements outside the streamed ones are held', () => {
    const flood = '<a/>'.repeat(16_384);
    assert.throws(
      () => parseStreamed([open, update(1), ...Array.from({ length: 40 }, () => flood), close]),
      code('VSPHERE_RESPONSE_TOO_LARGE', /elements held at once/),
    );
  });

  test('the total of a streamed answer is bounded by its own, larger bound (elements too)', () => {
    const tiny: XmlLimits = { ...limits, maxStreamedElements: 5000 };
    const p = new SoapXmlParser({ depth: 5, name: 'objectSet', onElement: () => undefined }, tiny);
    p.write(open);
    assert.throws(
      () => {
        for (let i = 0; i < 1000; i++) p.write(update(i));
      },
      code('VSPHERE_RESPONSE_TOO_LARGE', /more than 5000 elements/),
    );
  });
});
