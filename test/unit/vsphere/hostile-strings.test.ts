/** Strings from vCenter are data: names on Object.prototype, XML-illegal characters, repeated series. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { child, parseXml, SoapXmlParser, type ElementReader } from '../../../src/vsphere/soap/xml.js';
import type { XmlAttrs } from '../../../src/vsphere/answer-data.js';
import { compactByteArray, detached } from '../../../src/vsphere/values.js';
import { faultToError } from '../../../src/vsphere/soap/faults.js';
import { errorReason, VsphereError } from '../../../src/vsphere/errors.js';
import { SoapStats } from '../../../src/scrape/self-stats.js';
import { encodeFamilies } from '../../../src/exposition/text-encoder.js';
import { toItem } from '../../../src/vsphere/inventory-records.js';
import { UnrequestedProperties } from '../../../src/vsphere/property-collector.js';
import { PerfAnswerFilter } from '../../../src/vsphere/perf-response.js';
import type { PerfEntitySamples, PerfSample } from '../../../src/vsphere/perf-manager.js';

const PROTOTYPE_NAMES = [
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__proto__',
  '__defineGetter__',
  'isPrototypeOf',
];
const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

const fault = (type: string): VsphereError =>
  faultToError(
    parseXml(
      `<Fault ${XSI}><faultstring>odd</faultstring><detail><${type}Fault xsi:type="${type}"/></detail></Fault>`,
    ),
    'QueryPerf',
  );

describe('fault types and outcomes', () => {
  test('a fault typed like an Object.prototype member is a generic fault with a string code', () => {
    for (const type of PROTOTYPE_NAMES) {
      const e = fault(type);
      assert.equal(e.code, 'VSPHERE_FAULT', type);
      assert.equal(e.faultType, type);
      assert.equal(errorReason(e), 'VSPHERE_FAULT');
    }
    assert.equal(fault('InvalidLogin').code, 'VSPHERE_INVALID_LOGIN');
  });

  test('errorReason is a string whatever the error carries', () => {
    const odd = new VsphereError('VSPHERE_FAULT', 'x');
    Object.defineProperty(odd, 'code', { value: Object });
    assert.equal(errorReason(odd), 'UNKNOWN');
  });

  test('SoapStats keeps a non-string outcome out of its labels (it would fail every later scrape)', () => {
    const stats = new SoapStats();
    stats.record('QueryPerf', Object as unknown as string, 0.1);
    stats.record('QueryPerf', 'success', NaN);
    const text = encodeFamilies(stats.families()).toString();
    assert.match(text, /UNKNOWN/);
    assert.match(text, /success/);
  });
});

describe('character references XML 1.0 forbids', () => {
  test('are read as U+FFFD and listed; the rest of the answer is kept', () => {
    const p = new SoapXmlParser();
    p.write('<r><name>vm&#x1b;[31m &#0;&#xD800;&#xFFFE; ok &#65;&#x1F600;&#x9;</name><n a="&#x1;"/></r>');
    const root = p.close();
    assert.equal(child(root, 'name')!.text, 'vm\uFFFD[31m \uFFFD\uFFFD\uFFFD ok A😀\t');
    assert.equal(child(root, 'n')!.attrs.a, '\uFFFD');
    assert.equal(p.replacements.count, 5);
    assert.deepEqual(p.replacements.refs[0], { ref: '&#x1b;', element: 'name' });
  });

  test('a reference split across chunks is replaced too', () => {
    const p = new SoapXmlParser();
    p.write(Buffer.from('<r>a&#x'));
    p.write(Buffer.from('1b;b</r>'));
    assert.equal(p.close().text, 'a\uFFFDb');
  });

  test('malformed references and undefined entities are still rejected', () => {
    for (const bad of ['<r>&#xZZ;</r>', '<r>&#;</r>', '<r>&nbsp;</r>'])
      assert.throws(
        () => parseXml(bad),
        (e: unknown) => e instanceof VsphereError && e.code === 'VSPHERE_BAD_RESPONSE',
        bad,
      );
  });
});

describe('attribute names', () => {
  // Every member of Object.prototype, named as attributes (with a value each) of one element.
  const named = PROTOTYPE_NAMES.map((n, i) => `${n}="v${i}"`).join(' ');
  const expected = Object.fromEntries(PROTOTYPE_NAMES.map((n, i) => [n, `v${i}`]));
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  // Exactly the answer's names as own keys, with its values; nothing inherited, Object.prototype untouched.
  const assertData = (attrs: XmlAttrs, want: Record<string, string>, what: string): void => {
    // Its prototype is one empty frozen object without a prototype of its own: nothing to inherit.
    const proto = Object.getPrototypeOf(attrs) as object;
    assert.equal(Object.getPrototypeOf(proto), null, what);
    assert.deepEqual(Reflect.ownKeys(proto), [], what);
    assert.ok(Object.isFrozen(proto), what);
    assert.deepEqual(Object.keys(attrs).sort(), Object.keys(want).sort(), what);
    for (const [k, v] of Object.entries(want)) assert.equal(attrs[k], v, `${what}: ${k}`);
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore, what);
    assert.equal(Object.getPrototypeOf({}), Object.prototype, what);
  };

  test('Object.prototype member names are plain keys of the attribute map, in the tree and in a copy', () => {
    const root = parseXml(
      `<r ${XSI} xmlns:a="urn:a"><n ${named} xsi:type="xsd:int"/><p a:__proto__="x"/><e/></r>`,
    );
    const n = child(root, 'n')!;
    assertData(n.attrs, { ...expected, type: 'int' }, 'unprefixed');
    assertData(child(root, 'p')!.attrs, { ['__proto__']: 'x' }, 'prefixed');
    // The shared map of elements without attributes inherits nothing either.
    const empty = child(root, 'e')!.attrs;
    assertData(empty, {}, 'no attributes');
    assert.equal(empty.constructor, undefined);
    assert.ok(Object.isFrozen(empty));
    // Kept past the parse (the model's copy) and rebuilt (compacted byte arrays): still data only.
    assertData(detached(n)!.attrs, { ...expected, type: 'int' }, 'detached');
    const bytes = parseXml(`<val ${XSI} xsi:type="ArrayOfByte"><byte>65</byte></val>`);
    assertData(compactByteArray(bytes)!.attrs, { type: 'ArrayOfByte' }, 'compacted');
  });

  test('a stream reader is told the same attribute map', () => {
    const seen: XmlAttrs[] = [];
    const reader: ElementReader = {
      open: (_n, attrs) => void seen.push(attrs),
      text: () => {},
      close: () => {},
    };
    parseXml(
      `<Envelope><Body><R><returnval ${named}><x constructor="c"/></returnval></R></Body></Envelope>`,
      {
        depth: 3,
        name: 'returnval',
        reader,
      },
    );
    assert.equal(seen.length, 2);
    assertData(seen[0]!, expected, 'streamed element');
    assertData(seen[1]!, { constructor: 'c' }, 'its child');
  });
});

describe('property names', () => {
  test('toItem keeps names it does not decode, Object.prototype members included, only as Map keys', () => {
    const props = new Map(
      [...PROTOTYPE_NAMES, 'name', 'summary.config.numCpu'].map((n) => [
        n,
        parseXml(`<val>${n === 'summary.config.numCpu' ? 4 : 'web'}</val>`),
      ]),
    );
    for (const type of ['VirtualMachine', 'HostSystem', 'Folder']) {
      const it = toItem(type, 'x-1', props);
      const record = it.kind === 'vm' ? it.vm : it.kind === 'host' ? it.host : it;
      assert.equal(Object.getPrototypeOf(record), Object.prototype, type);
      assert.equal(Object.hasOwn(record, '__proto__') || Object.hasOwn(record, 'constructor'), false, type);
      const kept = it.kind === 'vm' ? it.vm.extra : it.kind === 'host' ? it.host.extra : it.props;
      assert.ok(kept instanceof Map && kept.has('__proto__') && kept.has('constructor'), type);
      if (it.kind === 'vm') {
        assert.equal(it.vm.name, 'web');
        assert.equal(it.vm.numCpu, 4);
      }
    }
  });

  test('UnrequestedProperties keeps what was asked for (of any type: specs may name a supertype) and reports the rest once', () => {
    const odd = new UnrequestedProperties([
      { type: 'ManagedEntity', pathSet: ['name'] },
      { type: 'VirtualMachine', pathSet: ['parent'] },
    ]);
    assert.equal(odd.keep('VirtualMachine', 'vm-1', 'name'), true);
    assert.equal(odd.keep('VirtualMachine', 'vm-1', 'parent'), true);
    assert.equal(odd.keep('VirtualMachine', 'vm-1', '__proto__'), false);
    assert.equal(odd.keep('HostSystem', 'host-1', 'constructor'), false);
    const logged: unknown[] = [];
    odd.report({ warn: (o: unknown, msg?: string) => void logged.push([o, msg]) } as never, 'X');
    assert.equal(logged.length, 1);
    assert.match(JSON.stringify(logged[0]), /"count":2.*__proto__/);
  });
});

describe('QueryPerf answers', () => {
  // One entity element of an answer: [counterId, instance] per series.
  const element = (moid: string, series: [number, string][]): PerfEntitySamples => ({
    entity: { type: 'VirtualMachine', value: moid },
    intervalSeconds: 20,
    timestamp: undefined,
    start: 0,
    end: series.length,
    counterIds: series.map(([c]) => c),
    instances: series.map(([, i]) => i),
    values: series.map(() => 1),
  });
  const keys = (e: PerfEntitySamples): string[] =>
    Array.from({ length: e.end - e.start }, (_, k) => {
      const i = e.start + k;
      return `${e.entity.value}/${e.counterIds[i]}/${e.instances?.[i] ?? ''}`;
    });

  test('PerfAnswerFilter keeps each series once and only for entities asked for', () => {
    const filter = new PerfAnswerFilter([
      { entity: { type: 'VirtualMachine', value: 'vm-1' }, counterIds: [2, 6] },
      { entity: { type: 'VirtualMachine', value: 'vm-2' }, counterIds: [2] },
    ]);
    const out: string[] = [];
    const pass = filter.pass((e) => out.push(...keys(e)));
    for (const e of [
      element('vm-1', [
        [2, ''],
        [6, ''],
        [6, '4000'],
      ]),
      element('vm-2', [[2, '']]),
      // the entity listed again
      element('vm-1', [
        [2, ''],
        [6, '4000'],
      ]),
      element('vm-9', [[2, '']]), // never asked for
    ])
      pass(e);
    assert.deepEqual(out, ['vm-1/2/', 'vm-1/6/', 'vm-1/6/4000', 'vm-2/2/']);
    const logged: unknown[] = [];
    filter.report({ warn: (o: unknown) => void logged.push(o) } as never, 'QueryPerf');
    assert.match(JSON.stringify(logged), /"count":3.*listed twice.*entity not asked for/);
  });

  test('PerfAnswerFilter skips an entity element repeated right after itself', () => {
    const filter = new PerfAnswerFilter([
      { entity: { type: 'VirtualMachine', value: 'vm-1' }, counterIds: [2] },
    ]);
    const out: string[] = [];
    const pass = filter.pass((e) => out.push(...keys(e)));
    for (const e of [element('vm-1', [[2, '']]), element('vm-1', [[2, '']])]) pass(e);
    assert.deepEqual(out, ['vm-1/2/']);
  });

  test('PerfAnswerFilter keeps the first of a series an element lists twice, in both readers', () => {
    const asked = [{ entity: { type: 'VirtualMachine', value: 'vm-1' }, counterIds: [2, 6] }];
    const filter = new PerfAnswerFilter(asked);
    const out: string[] = [];
    filter.pass((e) => out.push(...keys(e), `values ${Array.from(e.values).join(',')}`))({
      ...element('vm-1', [
        [2, ''],
        [6, '4000'],
        [2, ''],
        [6, ''],
        [6, '4000'],
      ]),
      values: [1, 2, 3, 4, 5],
    });
    assert.deepEqual(out, ['vm-1/2/', 'vm-1/6/4000', 'vm-1/6/', 'values 1,2,4']);
    const logged: unknown[] = [];
    filter.report({ warn: (o: unknown) => void logged.push(o) } as never, 'QueryPerf');
    assert.match(JSON.stringify(logged), /"count":2.*series listed twice/);

    const samples: string[] = [];
    const sample = (counterId: number, value: number): PerfSample => ({
      entity: { type: 'VirtualMachine', value: 'vm-1' },
      counterId,
      instance: '',
      value,
      intervalSeconds: 300,
      timestamp: 1,
    });
    new PerfAnswerFilter(asked).passElement((s) => samples.push(`${s.counterId}=${s.value}`))([
      sample(2, 1),
      sample(6, 2),
      sample(2, 3),
    ]);
    assert.deepEqual(samples, ['2=1', '6=2']);
  });

  test('PerfAnswerFilter.passElement applies the same rule to elements read as sample objects', () => {
    const filter = new PerfAnswerFilter([
      { entity: { type: 'VirtualMachine', value: 'vm-1' }, counterIds: [2] },
    ]);
    const out: string[] = [];
    const pass = filter.passElement((s) => out.push(`${s.entity.value}/${s.counterId}`));
    const sample = (moid: string, counterId: number): PerfSample => ({
      entity: { type: 'VirtualMachine', value: moid },
      counterId,
      instance: '',
      value: 1,
      intervalSeconds: 300,
      timestamp: 1,
    });
    for (const e of [[sample('vm-1', 2)], [], [sample('vm-1', 3)], [sample('vm-9', 2)]]) pass(e);
    assert.deepEqual(out, ['vm-1/2']);
    const logged: unknown[] = [];
    filter.report({ warn: (o: unknown) => void logged.push(o) } as never, 'QueryPerf');
    assert.match(JSON.stringify(logged), /"count":2.*listed twice.*entity not asked for/);
  });
});
