import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { baseUnit, perInterval, perIntervalUnit, toBaseUnit } from '../../../src/vsphere/units.js';
import { VM_PERF, HOST_PERF } from '../../../src/collectors/perf-metrics.js';

describe('toBaseUnit', () => {
  test('converts vCenter units to base units exactly', () => {
    assert.equal(toBaseUnit(871, 'percent'), 0.0871); // hundredths of a percent
    assert.equal(toBaseUnit(10000, 'percent'), 1);
    assert.equal(toBaseUnit(2048, 'kiloBytes'), 2 * 1024 * 1024);
    assert.equal(toBaseUnit(3, 'kiloBytesPerSecond'), 3072);
    assert.equal(toBaseUnit(2294, 'megaHertz'), 2_294_000_000);
    assert.equal(toBaseUnit(25, 'millisecond'), 0.025);
    assert.equal(toBaseUnit(1500, 'microsecond'), 0.0015);
    assert.equal(toBaseUnit(8, 'kiloBitsPerSecond'), 1000);
    assert.equal(toBaseUnit(7, 'number'), 7);
  });
  test('units of the vCenter 9.0.1 catalogue: nanosecond, gigaBytes, teraBytes, joule', () => {
    assert.equal(toBaseUnit(2_500_000, 'nanosecond'), 0.0025);
    assert.equal(toBaseUnit(3, 'gigaBytes'), 3 * 1024 ** 3);
    assert.equal(toBaseUnit(2, 'teraBytes'), 2 * 1024 ** 4);
    assert.equal(toBaseUnit(4200, 'joule'), 4200);
    assert.deepEqual(['nanosecond', 'gigaBytes', 'teraBytes', 'joule'].map(baseUnit), [
      'seconds',
      'bytes',
      'bytes',
      'joules',
    ]);
  });
  test('a summation read per interval: time → ratio, counts and bytes → per second, joules → watts', () => {
    assert.equal(perIntervalUnit('nanosecond'), 'ratio');
    assert.equal(perIntervalUnit('millisecond'), 'ratio');
    assert.equal(perIntervalUnit('number'), 'per_second');
    assert.equal(perIntervalUnit('gigaBytes'), 'bytes_per_second');
    assert.equal(perIntervalUnit('joule'), 'watts');
    // A summed rate, percentage or frequency has no meaningful per-second form.
    for (const u of ['percent', 'kiloBytesPerSecond', 'megaHertz', 'watt', 'celsius'])
      assert.equal(perIntervalUnit(u), undefined, u);
    // 4200 J over a 20 s sample is an average draw of 210 W.
    assert.equal(perInterval(toBaseUnit(4200, 'joule')!, 20), 210);
  });
  test('unknown units are not guessed, and a unit is data, never an object key', () => {
    assert.equal(toBaseUnit(1, 'furlongsPerFortnight'), undefined);
    for (const u of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      assert.equal(toBaseUnit(1, u), undefined, u);
      assert.equal(baseUnit(u), undefined, u);
      assert.equal(perIntervalUnit(u), undefined, u);
    }
  });
  test('summation counters become per-interval ratios', () => {
    // 400 ms of ready time in a 20 s sample = 2 %.
    assert.equal(perInterval(toBaseUnit(400, 'millisecond')!, 20), 0.02);
    assert.equal(perInterval(60, 20), 3);
    assert.ok(Number.isNaN(perInterval(1, 0)));
  });
  test('every default counter has a known unit and a metric name ending in its base unit', () => {
    for (const def of [...VM_PERF, ...HOST_PERF]) {
      const base = baseUnit(def.unit);
      assert.ok(base !== undefined, def.counter);
      const expected = def.perInterval ? (base === 'seconds' ? 'ratio' : 'per_second') : base;
      assert.ok(def.metric.endsWith(expected), `${def.metric} should end with ${expected}`);
      assert.match(def.help, new RegExp(def.counter.replace(/\./g, '\\.')));
    }
  });
});
