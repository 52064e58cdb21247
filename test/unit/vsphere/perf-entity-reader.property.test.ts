/**
 * The event reader of QueryPerf answers (PerfEntityReader) against the tree-based decode it
 * replaced (readEntityMetric on the parsed element): on generated answers, well-formed or hostile,
 * whole or cut into chunks anywhere, both give the same samples in the same order, the same
 * format per element, and the same error when the answer is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SoapXmlParser, type StreamSpec } from '../../../src/vsphere/soap/xml.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { xmlLimits } from '../../../src/vsphere/soap/xml-limits.js';
import { readEntityMetric } from '../../harness/perf-tree-reader.js';
import { decimal, PerfEntityReader } from '../../../src/vsphere/perf-entity-reader.js';
import { forEachSample, type PerfEntitySamples } from '../../../src/vsphere/perf-samples.js';
import type { PerfSample } from '../../../src/vsphere/perf-manager.js';
import { cutAt, spliced } from '../../harness/chunks.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const ENVELOPE = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ${XSI}><soapenv:Body><QueryPerfResponse xmlns="urn:vim25">`;
const END = '</QueryPerfResponse></soapenv:Body></soapenv:Envelope>';

type Outcome = { samples: PerfSample[]; formats: string[] } | { error: string };

/** Parses `chunks` of an answer with the stream spec `make` builds; samples, formats, or the error. */
function run(
  chunks: string[],
  make: (
    onSample: (s: PerfSample) => void,
    onFormat: (f: string) => void,
  ) => Pick<StreamSpec, 'onElement' | 'reader'>,
  limits = xmlLimits(1024 * 1024),
): Outcome {
  const samples: PerfSample[] = [];
  const formats: string[] = [];
  const spec = {
    depth: 3,
    name: 'returnval',
    ...make(
      (s) => samples.push(s),
      (f) => formats.push(f),
    ),
  };
  const p = new SoapXmlParser(spec, limits);
  try {
    for (const c of chunks) p.write(Buffer.from(c, 'utf8'));
    p.close();
  } catch (e) {
    assert.ok(e instanceof VsphereError, `untyped error: ${String(e)}`);
    return { error: `${e.code}: ${e.message}` };
  }
  return { samples, formats };
}

const tree = (chunks: string[], limits?: ReturnType<typeof xmlLimits>): Outcome =>
  run(
    chunks,
    (onSample, onFormat) => ({ onElement: (rv) => onFormat(readEntityMetric(rv, onSample)) }),
    limits,
  );
const events = (chunks: string[], limits?: ReturnType<typeof xmlLimits>): Outcome =>
  run(
    chunks,
    (onSample, onFormat) => ({
      reader: new PerfEntityReader(
        (e) => forEachSample(e, onSample),
        (csv) => onFormat(csv ? 'csv' : 'normal'),
      ),
    }),
    limits,
  );

// Number spellings a server might send, from the usual to the hostile.
const numberText = fc.oneof(
  fc.nat({ max: 99_999_999 }).map(String),
  fc.constantFrom(
    '-1',
    '0',
    '-0',
    '007',
    ' 12 ',
    '\n42\t',
    '+5',
    '1.5',
    '1e3',
    '1e400',
    '-1e400',
    '0x1F',
    'NaN',
    'Infinity',
    '',
    ' ',
    '12a',
    '999999999999999',
    '9999999999999999',
    '99999999999999999999999',
    '1,2',
    '&#x31;2',
    '&amp;',
    '<![CDATA[7]]>',
    '1<x>2</x>3',
    '&#x1b;',
  ),
);
const csvText = fc.array(fc.oneof(numberText, fc.constant('')), { maxLength: 4 }).map((xs) => xs.join(','));
const junk = fc.constantFrom('', ' ', '\n', '<x/>', '<value/>', '<id/>', '<!-- c -->', 'text', '<?pi x?>');
const instanceText = fc.oneof(
  fc.constantFrom('', '*', 'vmnic0', '4000', 'scsi0:0', ' a ', '&lt;b&gt;', 'ü', '&#x1b;'),
  fc.string({ maxLength: 6 }).map((s) => s.replace(/[<&]/g, '')),
);
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

const id = fc
  .record({
    counterIds: fc.oneof(fc.tuple(fc.nat({ max: 999 }).map(String)), fc.array(numberText, { maxLength: 2 })),
    instances: fc.array(instanceText, { maxLength: 2 }),
    before: junk,
  })
  .map(
    ({ counterIds, instances, before }) =>
      `<id>${before}${counterIds.map((c) => `<counterId>${c}</counterId>`).join('')}${instances
        .map((i) => `<instance>${i}</instance>`)
        .join('')}</id>`,
  );
const series = fc
  .record({
    typed: fc.boolean(),
    ids: fc.oneof(fc.tuple(id), fc.array(id, { maxLength: 2 })),
    values: fc.oneof(
      fc.tuple(fc.nat({ max: 99_999 }).map(String)),
      fc.array(fc.oneof(numberText, csvText), { maxLength: 3 }),
    ),
    valueFirst: fc.boolean(),
    inner: junk,
  })
  .map(({ typed, ids, values, valueFirst, inner }) => {
    const v = values.map((x) => `<value>${x}</value>`).join('');
    const i = ids.join('');
    return `<value${typed ? ' xsi:type="PerfMetricIntSeries"' : ''}>${inner}${valueFirst ? v + i : i + v}</value>`;
  });
const sampleInfo = fc
  .record({
    ts: fc.constantFrom('2026-12-06T18:38:40Z', ' 2026-12-06T18:38:40.95Z ', 'never', ''),
    interval: maybe(numberText),
  })
  .map(
    ({ ts, interval }) =>
      `<sampleInfo><timestamp>${ts}</timestamp>${interval === undefined ? '' : `<interval>${interval}</interval>`}</sampleInfo>`,
  );
const sampleInfoCsv = fc
  .constantFrom(
    '20,2026-12-06T18:38:40Z',
    '20,2026-12-06T18:38:20Z,300,2026-12-06T18:38:40Z',
    '',
    'x,y',
    '0,bad',
    '-5,2026-12-06T18:38:40Z',
  )
  .map((t) => `<sampleInfoCSV>${t}</sampleInfoCSV>`);
const entity = fc
  .record({
    type: fc.constantFrom(
      'type="VirtualMachine"',
      'type="HostSystem"',
      'type=""',
      '',
      'xsi:type="VirtualMachine"',
    ),
    moid: fc.constantFrom('vm-1', 'vm-2', 'host-9', '', ' vm-3 ', 'vm&amp;4'),
  })
  .map(({ type, moid }) => `<entity ${type}>${moid}</entity>`);
const entityMetric = fc
  .record({
    type: fc.constantFrom('PerfEntityMetric', 'PerfEntityMetricCSV', 'PerfEntityMetricBase', ''),
    // Most elements start as vCenter writes them (an entity), the hostile parts after it.
    head: fc.constantFrom(
      '<entity type="VirtualMachine">vm-7</entity>',
      '<entity type="HostSystem">host-1</entity>',
      '',
    ),
    parts: fc.array(fc.oneof(entity, sampleInfo, sampleInfoCsv, series, series, series, junk), {
      maxLength: 12,
    }),
  })
  .map(
    ({ type, head, parts }) =>
      `<returnval${type ? ` xsi:type="${type}"` : ''}>${head}${parts.join('')}</returnval>`,
  );
const answer = fc
  .array(fc.oneof(entityMetric, entityMetric, junk), { maxLength: 5 })
  .map((rvs) => ENVELOPE + rvs.join('') + END);

test('property: the event reader gives what the tree-based decode gives, whatever the answer and its chunks', () => {
  fc.assert(
    fc.property(answer, fc.array(fc.nat(), { maxLength: 6 }), (xml, cuts) => {
      const expected = tree([xml]);
      assert.deepStrictEqual(events(cutAt(xml, cuts)), expected);
    }),
    { numRuns: 3000 },
  );
});

test('property: ill-formed or oversized answers (bounds crossed) fail the same way through either reader', () => {
  const broken = spliced(answer, ['', '<', '</value>', '&bogus;', '<!DOCTYPE x>']);
  // Tight bounds, so generated answers cross them too.
  const limits = { ...xmlLimits(1024 * 1024), maxHeldElements: 40, maxHeldChars: 600, maxDepth: 7 };
  fc.assert(
    fc.property(broken, fc.array(fc.nat(), { maxLength: 4 }), (xml, cuts) => {
      // The same chunks for both: a held-characters bound is checked per chunk.
      const chunks = cutAt(xml, cuts);
      assert.deepStrictEqual(events(chunks, limits), tree(chunks, limits));
    }),
    { numRuns: 2000 },
  );
});

test('a vcsim 0.24 answer: the series without data skipped, the newest of several values read', () => {
  const xml =
    ENVELOPE +
    '<returnval xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="PerfEntityMetric">' +
    '<entity type="VirtualMachine">vm-90</entity>' +
    '<sampleInfo><timestamp>2026-12-06T18:38:10Z</timestamp><interval>20</interval></sampleInfo>' +
    '<sampleInfo><timestamp>2026-12-06T18:38:30.950051396Z</timestamp><interval>20</interval></sampleInfo>' +
    '<value XMLSchema-instance:type="PerfMetricIntSeries"><id><counterId>2</counterId><instance></instance></id><value>5</value><value>673</value></value>' +
    '<value XMLSchema-instance:type="PerfMetricIntSeries"><id><counterId>399</counterId><instance></instance></id></value>' +
    '<value XMLSchema-instance:type="PerfMetricIntSeries"><id><counterId>148</counterId><instance>4000</instance></id><value>-1</value></value>' +
    '</returnval>' +
    END;
  const got = events([xml]);
  assert.deepStrictEqual(got, {
    formats: ['normal'],
    samples: [vmSample('vm-90', 2, 673, '2026-12-06T18:38:30.950Z')],
  });
  assert.deepStrictEqual(got, tree([xml]));
});

test('an answer larger than the first columns, read after it is whole, instances first named late: what the tree decode gives', () => {
  // 60 elements × 40 series = 2,400 samples: the columns (1,024 at first) grow twice while earlier
  // elements hold ranges of the old ones, and every element is read only once the answer is whole,
  // as PerfManager does; the first instance comes in element 40, after 1,600 aggregate-only samples.
  const element = (e: number): string => {
    let series = '';
    for (let c = 0; c < 40; c++) {
      const instance = e >= 40 && c % 4 === 0 ? `vmnic${c}` : '';
      series += `<value XMLSchema-instance:type="PerfMetricIntSeries"><id><counterId>${c + 1}</counterId><instance>${instance}</instance></id><value>${e * 100 + c}</value></value>`;
    }
    return (
      '<returnval xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="PerfEntityMetric">' +
      `<entity type="VirtualMachine">vm-${e}</entity>` +
      '<sampleInfo><timestamp>2026-12-06T18:38:30Z</timestamp><interval>20</interval></sampleInfo>' +
      series +
      '</returnval>'
    );
  };
  const xml = ENVELOPE + Array.from({ length: 60 }, (_, e) => element(e)).join('') + END;
  const held: PerfEntitySamples[] = [];
  const p = new SoapXmlParser(
    {
      depth: 3,
      name: 'returnval',
      reader: new PerfEntityReader(
        (e) => held.push(e),
        () => undefined,
      ),
    },
    xmlLimits(1024 * 1024),
  );
  for (const c of cutAt(xml, [5000, 70000])) p.write(Buffer.from(c, 'utf8'));
  p.close();
  const samples: PerfSample[] = [];
  for (const e of held) forEachSample(e, (x) => samples.push(x));
  assert.equal(samples.length, 2400);
  assert.deepStrictEqual(samples[2399], vmSample('vm-59', 40, 5939, '2026-12-06T18:38:30Z'));
  assert.equal(samples.filter((x) => x.instance !== '').length, 20 * 10);
  assert.deepStrictEqual({ samples, formats: Array<string>(60).fill('normal') }, tree([xml]));
});

test('decimal reads what Number() reads of a trimmed text, and nothing that is not finite', () => {
  for (const t of [
    '0',
    '42',
    '007',
    '-1',
    ' 12 ',
    '1.5',
    '1e3',
    '+5',
    '0x1F',
    '999999999999999',
    '9999999999999999',
  ])
    assert.equal(decimal(t), Number(t.trim()), t);
  for (const t of [undefined, '', ' ', 'NaN', '1e400', '-Infinity', '12a', '1,2'])
    assert.equal(decimal(t), undefined, String(t));
  assert.ok(Object.is(decimal('-0'), -0));
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), (t) => {
      const n = Number(t.trim());
      assert.equal(decimal(t), t.trim() === '' || !Number.isFinite(n) ? undefined : n);
    }),
  );
});

// A VM's aggregate realtime sample as the reader hands it over.
function vmSample(vm: string, counterId: number, value: number, time: string): PerfSample {
  return {
    entity: { type: 'VirtualMachine', value: vm },
    counterId,
    instance: '',
    value,
    intervalSeconds: 20,
    timestamp: Date.parse(time) / 1000,
  };
}
