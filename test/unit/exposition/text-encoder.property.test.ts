import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MetricFamily,
  encodeFamilies,
  escapeHelp,
  escapeLabelValue,
  formatValue,
} from '../../../src/exposition/index.js';
import { parseSampleLine, parseValue, unescapeHelp } from './reference-parser.js';

// Full-range code points (astral included) plus a generator biased towards the characters
// that need escaping and their look-alikes, so collisions like `\\n` vs `\n` are exercised.
const unicodeString = fc.string({ unit: 'binary', maxLength: 40 });
const trickyString = fc.string({
  unit: fc.constantFrom('\\', '"', '\n', 'n', '\r', '\t', ',', '}', '=', 'ü', '☃', '😀', ' '),
  maxLength: 20,
});
const labelValue = fc.oneof(unicodeString, trickyString);

void describe('encoder properties', () => {
  void test('label values survive encode → strict parse', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(labelValue, labelValue), { minLength: 1, maxLength: 8 }), (rows) => {
        const f = new MetricFamily('prop_metric', 'h', 'gauge', ['a', 'b']);
        rows.forEach(([a, b], i) => f.add([a, b], i));
        const lines = encodeFamilies([f]).toString('utf8').split('\n');
        assert.equal(lines.pop(), '', 'body ends with a newline');
        assert.equal(lines.length, rows.length + 2);
        rows.forEach(([a, b], i) => {
          const parsed = parseSampleLine(lines[i + 2] as string);
          assert.equal(parsed.name, 'prop_metric');
          assert.deepEqual(parsed.labels, [
            ['a', a],
            ['b', b],
          ]);
          assert.equal(parsed.value, String(i));
        });
      }),
      { numRuns: 500 },
    );
  });

  void test('escapeLabelValue output never contains a raw newline or unescaped quote', () => {
    fc.assert(
      fc.property(labelValue, (s) => {
        const e = escapeLabelValue(s);
        assert.ok(!e.includes('\n'));
        assert.ok(!/(?<!\\)(?:\\\\)*"/.test(e));
      }),
      { numRuns: 1000 },
    );
  });

  void test('HELP text survives escape → unescape and stays on one line', () => {
    fc.assert(
      fc.property(labelValue, (s) => {
        const e = escapeHelp(s);
        assert.ok(!e.includes('\n'));
        assert.equal(unescapeHelp(e), s);
      }),
      { numRuns: 1000 },
    );
  });

  void test('formatValue round-trips every double through Number()', () => {
    fc.assert(
      fc.property(fc.double(), (v) => {
        const s = formatValue(v);
        assert.match(s, /^(?:NaN|[+-]Inf|-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)$/);
        assert.ok(Object.is(parseValue(s), v), `${s} did not round-trip ${v}`);
      }),
      { numRuns: 10_000 },
    );
  });

  void test('integers below 1e21 are never printed with an exponent', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.maxSafeInteger(), fc.double({ min: -1e20, max: 1e20, noNaN: true }).map(Math.trunc)),
        (v) => {
          const s = formatValue(v);
          assert.match(s, /^-?\d+$/);
          assert.ok(Object.is(Number(s), v));
        },
      ),
      { numRuns: 2000 },
    );
  });

  void test('each value is written exactly as formatValue spells it (integers digit by digit)', () => {
    const value = fc.oneof(
      fc.maxSafeInteger(),
      fc.integer({ min: 0, max: 1e6 }),
      fc.double(),
      // Integers over a power of ten, as unit conversions make them (ratios, seconds of ms).
      fc
        .tuple(
          fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.maxSafeInteger()),
          fc.integer({ min: 0, max: 8 }),
        )
        .map(([k, d]) => k / 10 ** d),
      fc.double({ min: 0, max: 1e15, noNaN: true }).map((v) => Math.round(v * 1000) / 1000),
      fc.constantFrom(0, -0, 9, 10, 999_999_999_999_999, 1e15, 1e15 + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 53),
      fc.constantFrom(0.5, -1, 0.000001, 0.0000015, 1e-7, 0.1 + 0.2, 1 / 3, 2.675, 99.99, 1e14 + 0.5),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 50 }), (values) => {
        const f = new MetricFamily('v', 'h', 'untyped', ['l']);
        for (const v of values) f.add(['x'], v);
        const lines = encodeFamilies([f]).toString('utf8').split('\n').slice(2, -1);
        assert.deepEqual(
          lines,
          values.map((v) => `v{l="x"} ${formatValue(v)}`),
        );
      }),
      { numRuns: 2000 },
    );
  });

  void test('encoded values parse back to the added doubles', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { minLength: 1, maxLength: 50 }), (values) => {
        const f = new MetricFamily('v', 'h', 'untyped', []);
        for (const v of values) f.add([], v);
        const lines = encodeFamilies([f]).toString('utf8').split('\n').slice(2, -1);
        assert.equal(lines.length, values.length);
        lines.forEach((line, i) => {
          const parsed = parseSampleLine(line);
          assert.deepEqual(parsed.labels, []);
          assert.ok(Object.is(parseValue(parsed.value), values[i]));
        });
      }),
      { numRuns: 300 },
    );
  });
});
