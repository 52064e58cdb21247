/**
 * The series scanner (PerfEntityReader.skim, src/vsphere/perf-series-scan.ts) against the same
 * reader told the parser's events: on answers whose series are of the plain form vCenter writes or
 * one change away from it, whole or cut into chunks anywhere, under loose or tight bounds, both give
 * the same samples, formats and errors — and the scanner does read most plain series itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SoapXmlParser } from '../../../src/vsphere/soap/xml.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { xmlLimits, type XmlLimits } from '../../../src/vsphere/soap/xml-limits.js';
import { PerfEntityReader } from '../../../src/vsphere/perf-entity-reader.js';
import { forEachSample } from '../../../src/vsphere/perf-samples.js';
import { scanSeries, type ScannedSeries } from '../../../src/vsphere/perf-series-scan.js';
import type { PerfSample } from '../../../src/vsphere/perf-manager.js';
import { cutAt, spliced } from '../../harness/chunks.js';

const ENVELOPE =
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
  '<soapenv:Body><QueryPerfResponse xmlns="urn:vim25">';
const END = '</QueryPerfResponse></soapenv:Body></soapenv:Envelope>';
// vcsim (Go's encoder) declares the instance namespace on each returnval under its own prefix.
const GO_XSI = 'xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance"';

type Outcome = { samples: PerfSample[]; formats: string[] } | { error: string };

/** Parses `chunks` with a PerfEntityReader, its scanner on or off; counts the series it scanned. */
function read(
  chunks: readonly (string | Uint8Array)[],
  skim: boolean,
  limits: XmlLimits,
  scanned = { n: 0 },
): Outcome {
  const samples: PerfSample[] = [];
  const formats: string[] = [];
  const reader = new PerfEntityReader(
    (e) => forEachSample(e, (s) => samples.push(s)),
    (csv) => formats.push(csv ? 'csv' : 'normal'),
  );
  if (skim) {
    const own = reader.skim.bind(reader);
    reader.skim = (...args) => {
      const end = own(...args);
      if (end >= 0) scanned.n++;
      return end;
    };
  } else Object.defineProperty(reader, 'skim', { value: undefined });
  const p = new SoapXmlParser({ depth: 3, name: 'returnval', reader }, limits);
  try {
    for (const c of chunks) p.write(typeof c === 'string' ? Buffer.from(c, 'utf8') : c);
    p.close();
  } catch (e) {
    assert.ok(e instanceof VsphereError, `untyped error: ${String(e)}`);
    return { error: `${e.code}: ${e.message}` };
  }
  return { samples, formats };
}

// Each part is what vCenter writes most of the time, or one way a server could write it otherwise.
const plainOr = <T>(plain: T, others: T[]): fc.Arbitrary<T> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(plain) },
    { weight: 1, arbitrary: fc.constantFrom(...others) },
  );
const attribute = plainOr(' XMLSchema-instance:type="PerfMetricIntSeries"', [
  '',
  ' xsi:type="PerfMetricIntSeries"',
  ' type="x"',
  ' undeclared:type="x"',
  ' xmlns:p="urn:p" p:type="x"',
  ' xmlns="urn:x"',
  ' xmlns:q="urn:q"',
  ' xmlns:q=""',
  ' xml:type="x"',
  ' xmlnsx="1"',
  ' a:b:c="x"',
  ' p:="x"',
  ' :t="x"',
  " xsi:type='x'",
  ' xsi:type="a b"',
  ' xsi:type="a&amp;b"',
  ' xsi:type = "x"',
  ' xsi:type="x" xsi:type="y"',
  ' xsi:type="x"/',
  '  xsi:type="x"',
]);
const counterId = plainOr('6', [
  '',
  '0',
  '007',
  ' 5',
  '5 ',
  '123456789012345',
  '1234567890123456',
  '-3',
  '&#x35;',
]);
const instance = plainOr('<instance></instance>', [
  '<instance/>',
  '<instance>vmnic0</instance>',
  '<instance>4000</instance>',
  '<instance>scsi0:0</instance>',
  '<instance>a&amp;b</instance>',
  '<instance>\tx\n</instance>',
  '<instance>\r\n</instance>',
  '<instance>ü</instance>',
  '<instance>a]]>b</instance>',
  '<instance>a>b</instance>',
  '<instance><!-- c --></instance>',
  '<instance >x</instance>',
  '',
]);
const value = plainOr('<value>673</value>', [
  '<value>-1</value>',
  '<value></value>',
  '<value>0</value>',
  '<value>-0</value>',
  '<value>1,2,3</value>',
  '<value>1,2,</value>',
  '<value>,</value>',
  '<value>1,-1</value>',
  '<value>--1</value>',
  '<value>1-2</value>',
  '<value>+5</value>',
  '<value>1e3</value>',
  '<value> 5</value>',
  '<value>999999999999999</value>',
  '<value>9999999999999999</value>',
  '<value/>',
  '<value><x/></value>',
]);
const series = fc
  .record({
    attribute,
    counterId,
    instance,
    values: fc.array(value, { maxLength: 3 }),
    idWrap: plainOr(
      ['<id>', '</id>'],
      [
        ['<id >', '</id>'],
        ['<id>', '</id >'],
        ['<id><!--x-->', '</id>'],
      ],
    ),
    close: plainOr('</value>', ['</value >', '</valuex>', '']),
  })
  .map(
    ({ attribute, counterId, instance, values, idWrap, close }) =>
      `<value${attribute}>${idWrap[0]}<counterId>${counterId}</counterId>${instance}${idWrap[1]}${values.join('')}${close}`,
  );
// Markup and text a series may follow: each ends the token before the series differently.
const before = plainOr('', [
  '\r\n',
  ' ',
  '<!--c-->',
  '<?pi x?>',
  '<![CDATA[x]]>',
  '&amp;',
  ']]',
  '>',
  '<o><value><id><counterId>1</counterId><instance/></id><value>9</value></value></o>',
]);
const entityMetric = fc
  .record({
    csv: fc.boolean(),
    // Without its own declaration (1 in 8), a returnval's series may start as the last one's did
    // while their prefix is unbound: the scanner must refuse them as the parser does.
    declared: fc.integer({ min: 0, max: 7 }).map((n) => n > 0),
    series: fc.array(
      fc.tuple(before, series).map(([b, s]) => b + s),
      { maxLength: 8 },
    ),
  })
  .map(
    ({ csv, declared, series }) =>
      (declared
        ? `<returnval ${GO_XSI} XMLSchema-instance:type="${csv ? 'PerfEntityMetricCSV' : 'PerfEntityMetric'}">`
        : '<returnval>') +
      `<entity type="VirtualMachine">vm-7</entity>${csv ? '<sampleInfoCSV>20,2026-12-06T18:38:40Z</sampleInfoCSV>' : '<sampleInfo><timestamp>2026-12-06T18:38:40Z</timestamp><interval>20</interval></sampleInfo>'}` +
      `${series.join('')}</returnval>`,
  );
const answer = fc
  .array(entityMetric, { minLength: 1, maxLength: 4 })
  .map((rvs) => ENVELOPE + rvs.join('') + END);

test('property: the scanner gives what the parser events give, whatever the series and the chunks', () => {
  const scanned = { n: 0 };
  let plain = 0;
  fc.assert(
    fc.property(answer, fc.array(fc.nat(), { maxLength: 5 }), (xml, cuts) => {
      // Cut between bytes, not characters: a multi-byte character may be split too.
      const chunks = cutAt(Buffer.from(xml, 'utf8'), cuts);
      const limits = xmlLimits(1024 * 1024);
      plain += xml.split('<value XMLSchema-instance:type="PerfMetricIntSeries"><id><counterId>').length - 1;
      assert.deepStrictEqual(read(chunks, true, limits, scanned), read(chunks, false, limits));
    }),
    { numRuns: 3000 },
  );
  // Most series start plainly; about a third are plain throughout, and those the scanner reads.
  assert.ok(scanned.n > plain / 8, `scanned ${scanned.n} of ${plain} plainly started series`);
});

test('property: bounds crossed and broken answers fail the same way with the scanner on or off', () => {
  const broken = spliced(answer, ['', '<', '</value>', '&x;']);
  const limits = fc.record({
    maxHeldElements: fc.integer({ min: 4, max: 60 }),
    maxStreamedElements: fc.integer({ min: 8, max: 200 }),
    maxDepth: fc.integer({ min: 4, max: 8 }),
    maxAttributes: fc.integer({ min: 0, max: 3 }),
    maxHeldChars: fc.integer({ min: 200, max: 5000 }),
  });
  fc.assert(
    fc.property(broken, limits, fc.array(fc.nat(), { maxLength: 4 }), (xml, tight, cuts) => {
      const chunks = cutAt(xml, cuts);
      const l = { ...xmlLimits(1024 * 1024), ...tight };
      assert.deepStrictEqual(read(chunks, true, l), read(chunks, false, l));
    }),
    { numRuns: 3000 },
  );
});

test('scanSeries reads the plain forms and their element count, and leaves every other form to the parser', () => {
  const out: ScannedSeries = { elements: 0, counterId: 0, instance: '', value: 0 };
  const bound = { version: 0, bound: (p: string) => p === 'xsi' };
  const scan = (body: string, csv = false) => {
    const s = `<${body}<next/>`;
    const end = scanSeries(s, 1, s.length, csv, bound, out);
    // `out` carries the last series' head from scan to scan, as in a reader.
    const { head: _head, headPrefixEnd: _end, headVersion: _version, ...series } = out;
    return end < 0 ? undefined : { rest: s.slice(end), ...series };
  };
  const id = '<id><counterId>6</counterId><instance>vmnic0</instance></id>';
  assert.deepStrictEqual(
    scan(`value xsi:type="PerfMetricIntSeries">${id}<value>5</value><value>673</value></value>`),
    {
      rest: '<next/>',
      elements: 6,
      counterId: 6,
      instance: 'vmnic0',
      value: 673,
    },
  );
  assert.deepStrictEqual(scan(`value>${id}<value>1,2,30</value></value>`, true), {
    rest: '<next/>',
    elements: 5,
    counterId: 6,
    instance: 'vmnic0',
    value: 30,
  });
  const empty = scan('value><id><counterId>2</counterId><instance/></id></value>');
  assert.ok(empty && Number.isNaN(empty.value) && empty.elements === 4 && empty.instance === '');
  assert.equal(scan(`value>${id}<value>-1</value></value>`)?.value, -1);
  // Any negative value is read (and dropped by the reader), not only vCenter's -1.
  assert.equal(scan(`value>${id}<value>-2</value></value>`)?.value, -2);
  assert.ok(Number.isNaN(scan(`value>${id}<value>1,2,</value></value>`, true)!.value));
  const others: [string, boolean][] = [
    [`value undeclared:type="x">${id}</value>`, false],
    [`value xmlns:xsi="urn:x">${id}</value>`, false],
    [`value xsi:type="a b">${id}</value>`, false],
    [`value >${id}</value>`, false],
    [`value>${id}<value>1e3</value></value>`, false],
    [`value>${id}<value>1,2</value></value>`, false],
    // csv has one list; a second is the parser's (it keeps the first).
    [`value>${id}<value>1,1</value><value>2</value></value>`, true],
    ['value><id><counterId></counterId><instance/></id></value>', false],
    ['value><id><counterId>1</counterId></id></value>', false],
    ['value><id><counterId>1</counterId><instance>&amp;</instance></id></value>', false],
    [`value>${id}<value>5</value></value`, false],
    [`valuex>${id}</value>`, false],
  ];
  for (const [other, csv] of others) assert.equal(scan(other, csv), undefined, other);
});

test('a series starting as the last one did is still refused once its prefix is no longer bound', () => {
  const out: ScannedSeries = { elements: 0, counterId: 0, instance: '', value: 0 };
  const series =
    '<value xsi:type="PerfMetricIntSeries"><id><counterId>6</counterId><instance></instance></id><value>5</value></value>';
  let bound = true;
  let lookups = 0;
  const prefixes = {
    version: 0,
    bound: (prefix: string) => {
      lookups++;
      return bound && prefix === 'xsi';
    },
  };
  assert.equal(scanSeries(series, 1, series.length, false, prefixes, out), series.length);
  assert.equal(out.head, 'value xsi:type="PerfMetricIntSeries"><id><counterId>');
  assert.equal(lookups, 1);
  // While the bindings stay as they were, the prefix the head holds is not looked up again.
  assert.equal(scanSeries(series, 1, series.length, false, prefixes, out), series.length);
  assert.equal(lookups, 1);
  // A declaration came or went: looked up once more, and found still bound.
  prefixes.version++;
  assert.equal(scanSeries(series, 1, series.length, false, prefixes, out), series.length);
  assert.equal(scanSeries(series, 1, series.length, false, prefixes, out), series.length);
  assert.equal(lookups, 2);
  bound = false;
  prefixes.version++;
  assert.equal(scanSeries(series, 1, series.length, false, prefixes, out), -1);
  // One that starts otherwise is read in full again, and becomes the head to compare with.
  const plain = '<value><id><counterId>7</counterId><instance/></id><value>9</value></value>';
  assert.equal(scanSeries(plain, 1, plain.length, false, prefixes, out), plain.length);
  assert.deepEqual([out.counterId, out.value, out.head], [7, 9, 'value><id><counterId>']);
});
