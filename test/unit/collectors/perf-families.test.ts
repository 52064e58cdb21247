import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectPerfFamilies } from '../../../src/collectors/perf-families.js';
import type { PerfEntitySamples, PerfManager, PerfQuery } from '../../../src/vsphere/perf-manager.js';
import type { PerfMetricDef } from '../../../src/collectors/perf-metrics.js';
import { PerfAnswerFilter } from '../../../src/vsphere/perf-response.js';

const DEFS: PerfMetricDef[] = [
  { counter: 'net.received.average', unit: 'kiloBytesPerSecond', metric: 'rx_bytes', help: 'h' },
  {
    counter: 'net.received.average',
    unit: 'kiloBytesPerSecond',
    metric: 'nic_rx_bytes',
    help: 'h',
    instanceLabel: 'instance',
  },
  { counter: 'cpu.usage.average', unit: 'percent', metric: 'cpu_ratio', help: 'h' },
];

const entity = { type: 'HostSystem', value: 'host-1' };

/** A PerfManager answering one element for host-1 with `series` ([counterId, instance, value]); `asked` gets the queries. */
function answering(series: [number, string, number][], asked: PerfQuery[] = []): PerfManager {
  return {
    counters: () =>
      Promise.resolve(
        new Map([
          [
            'net.received.average',
            { key: 148, name: 'net.received.average', unit: 'kiloBytesPerSecond', statsType: '' },
          ],
          ['cpu.usage.average', { key: 2, name: 'cpu.usage.average', unit: 'percent', statsType: '' }],
        ]),
      ),
    queryRealtimeEntities: (
      queries: readonly PerfQuery[],
      _signal: AbortSignal,
      onEntity: (e: PerfEntitySamples) => void,
    ) => {
      asked.push(...queries);
      // Through the filter every QueryPerf answer passes (it drops a series listed twice).
      new PerfAnswerFilter(queries).pass(onEntity)({
        entity,
        intervalSeconds: 20,
        timestamp: 0,
        start: 0,
        end: series.length,
        counterIds: series.map(([c]) => c),
        instances: series.map(([, i]) => i),
        values: series.map(([, , v]) => v),
      });
      return Promise.resolve();
    },
  } as unknown as PerfManager;
}

const collect = (perf: PerfManager) =>
  collectPerfFamilies(
    perf,
    'vsphere_host',
    ['host', 'host_moid'],
    DEFS,
    [{ entity, labels: ['h1', 'host-1'] }],
    new AbortController().signal,
  );

test('collectPerfFamilies asks "*" only for per-instance counters and routes "" and named instances apart', async () => {
  const asked: PerfQuery[] = [];
  const perf = answering(
    [
      [148, '', 3],
      [148, 'vmnic0', 1],
      [148, 'vmnic1', 2],
      [148, '*', 9],
      [2, '', 5000],
      [2, '0', 1],
    ],
    asked,
  );
  const families = await collect(perf);
  assert.deepEqual(asked, [{ entity, counterIds: [2], instanceCounterIds: [148] }]);
  const [rx, nic, cpu] = families;
  assert.deepEqual(rx!.values, [3 * 1024]);
  assert.deepEqual(nic!.labelNames, ['host', 'host_moid', 'instance']);
  assert.deepEqual(nic!.labelBlocks, [
    '{host="h1",host_moid="host-1",instance="vmnic0"}',
    '{host="h1",host_moid="host-1",instance="vmnic1"}',
  ]);
  assert.deepEqual(nic!.values, [1024, 2048]);
  // An instance nobody asked for per instance is not exported.
  assert.deepEqual(cpu!.values, [0.5]);
});

test('a series an answer lists twice for one entity is exported once (the first): Prometheus fails a scrape with a duplicate whole', async () => {
  const [rx, nic, cpu] = await collect(
    answering([
      [2, '', 5000],
      [148, 'vmnic0', 1],
      [2, '', 6000],
      [148, '', 3],
      [148, 'vmnic0', 7],
      [148, '', 4],
    ]),
  );
  assert.deepEqual(cpu!.values, [0.5]);
  assert.deepEqual(rx!.values, [3 * 1024]);
  assert.deepEqual(nic!.labelBlocks, ['{host="h1",host_moid="host-1",instance="vmnic0"}']);
  assert.deepEqual(nic!.values, [1024]);
});
