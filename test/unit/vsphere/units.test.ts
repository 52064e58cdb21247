import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { perInterval, toBaseUnit } from '../../../src/vsphere/units.js';
import { VM_PERF, HOST_PERF } from '../../../src/collectors/perf-metrics.js';
import { BASE_UNIT } from '../../../src/vsphere/units.js';

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
  test('unknown units are not guessed', () => {
    assert.equal(toBaseUnit(1, 'furlongsPerFortnight'), undefined);
  });
  test('summation counters become per-interval ratios', () => {
    // 400 ms of ready time in a 20 s sample = 2 %.
    assert.equal(perInterval(toBaseUnit(400, 'millisecond')!, 20), 0.02);
    assert.equal(perInterval(60, 20), 3);
    assert.ok(Number.isNaN(perInterval(1, 0)));
  });
  test('every default counter has a known unit and a metric name ending in its base unit', () => {
    for (const def of [...VM_PERF, ...HOST_PERF]) {
      const base = BASE_UNIT[def.unit];
      assert.ok(base !== undefined, def.counter);
      const expected = def.perInterval ? (base === 'seconds' ? 'ratio' : 'per_second') : base;
      assert.ok(def.metric.endsWith(expected), `${def.metric} should end with ${expected}`);
      assert.match(def.help, new RegExp(def.counter.replace(/\./g, '\\.')));
    }
  });
});
