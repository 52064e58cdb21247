import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extraCounterDefs, extraCounterSuffix, VM_PERF } from '../../../src/collectors/perf-metrics.js';
import { BASE_ENV, fails, run, TempDir } from '../config/helpers.js';

const tmp = new TempDir();

void describe('extra counters', () => {
  void it('get snake_case names from group.name.rollup; built-in counters are not doubled', () => {
    const defs = extraCounterDefs(
      ['net.broadcastRx.summation', 'mem.overhead.average', 'cpu.usage.average', 'mem.overhead.average'],
      VM_PERF,
    );
    assert.deepEqual(
      defs.map((d) => [d.counter, d.metric, d.perInterval, d.unit]),
      [
        ['net.broadcastRx.summation', 'net_broadcast_rx_summation', true, '*'],
        ['mem.overhead.average', 'mem_overhead_average', false, '*'],
      ],
    );
  });
  void it('name their base unit from the catalogue unit; summations become ratios or rates', () => {
    assert.equal(extraCounterSuffix('kiloBytes', false), 'bytes');
    assert.equal(extraCounterSuffix('percent', false), 'ratio');
    assert.equal(extraCounterSuffix('number', false), '');
    assert.equal(extraCounterSuffix('millisecond', true), 'ratio');
    assert.equal(extraCounterSuffix('number', true), 'per_second');
    assert.equal(extraCounterSuffix('percent', true), undefined);
    assert.equal(extraCounterSuffix('teraFlops', false), undefined);
  });
  void it('are read from vm/host config sections and validated', async () => {
    const env = { ...BASE_ENV, VSPHERE_PASSWORD: 'x' };
    const file = tmp.write(
      'o.yml',
      'vm:\n  snapshot_timestamps: true\n  extra_counters: ["mem.overhead.average"]\nhost:\n  extra_counters: ["net.droppedRx.summation"]\n',
    );
    const c = await run(['--config.file', file], env);
    assert.deepEqual(c.options, {
      vm: {
        snapshotTimestamps: true,
        instanceMetrics: false,
        extraCounters: ['mem.overhead.average'],
        datastoreUsage: false,
        health: false,
      },
      host: { extraCounters: ['net.droppedRx.summation'] },
      historical: false,
      infoLabels: { tagCategories: [], customAttributes: [] },
      events: { include: [], exclude: [], maxTypes: 200 },
    });
    await fails(
      ['--config.file', tmp.write('b.yml', 'vm:\n  extra_counters: ["cpu.usage"]\n')],
      env,
      /vm\.extra_counters\.0.*line 2.*expected a counter name group\.name\.rollup/,
    );
    await fails(
      ['--config.file', tmp.write('k.yml', 'host:\n  instance_metrics: true\n')],
      env,
      /host\.instance_metrics/,
    );
  });
});
