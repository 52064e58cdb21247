import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import {
  historicalQuerySpec,
  historicalWindow,
  readNewestSamples,
} from '../../../src/vsphere/perf-historical.js';
import type { PerfSample } from '../../../src/vsphere/perf-manager.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const info = (ts: string): string =>
  `<sampleInfo><timestamp>${ts}</timestamp><interval>300</interval></sampleInfo>`;
const series = (id: number, values: number[]): string =>
  `<value xsi:type="PerfMetricIntSeries"><id><counterId>${id}</counterId><instance></instance></id>` +
  values.map((v) => `<value>${v}</value>`).join('') +
  '</value>';
const read = (xml: string): PerfSample[] => {
  const out: PerfSample[] = [];
  readNewestSamples(parseXml(`<returnval ${XSI} xsi:type="PerfEntityMetric">${xml}</returnval>`), (s) =>
    out.push(s),
  );
  return out;
};
const at = (iso: string): number => Date.parse(iso) / 1000;

test('historicalQuerySpec: PerfQuerySpec element order, start time, interval 300, maxSample sized to the window', () => {
  const w = historicalWindow(at('2026-11-27T12:30:00Z'), 1800);
  assert.deepEqual(w, { startTime: at('2026-11-27T12:00:00Z'), maxSample: 7 });
  assert.equal(
    historicalQuerySpec({ entity: { type: 'Datastore', value: 'datastore-1' }, counterIds: [281, 283] }, w),
    '<querySpec><entity type="Datastore">datastore-1</entity><startTime>2026-11-27T12:00:00.000Z</startTime>' +
      '<maxSample>7</maxSample><metricId><counterId>281</counterId><instance/></metricId>' +
      '<metricId><counterId>283</counterId><instance/></metricId><intervalId>300</intervalId></querySpec>',
  );
});

test('readNewestSamples picks the newest sample by timestamp: vCenter order (oldest first)', () => {
  const out = read(
    '<entity type="ClusterComputeResource">domain-c7</entity>' +
      info('2026-11-27T12:00:00Z') +
      info('2026-11-27T12:05:00Z') +
      series(6, [100, 200]),
  );
  assert.deepEqual(out, [
    {
      entity: { type: 'ClusterComputeResource', value: 'domain-c7' },
      counterId: 6,
      instance: '',
      value: 200,
      intervalSeconds: 300,
      timestamp: at('2026-11-27T12:05:00Z'),
    },
  ]);
});

test('readNewestSamples: vcsim order (newest first), -1 skipped for an older valid sample, no valid sample no output', () => {
  const out = read(
    '<entity type="ResourcePool">resgroup-9</entity>' +
      info('2026-11-27T12:10:00Z') +
      info('2026-11-27T12:05:00Z') +
      info('2026-11-27T12:00:00Z') +
      series(6, [300, 200, 100]) +
      series(98, [-1, 50, 40]) +
      series(24, [-1, -1, -1]),
  );
  assert.deepEqual(
    out.map((s) => [s.counterId, s.value, s.timestamp]),
    [
      [6, 300, at('2026-11-27T12:10:00Z')],
      [98, 50, at('2026-11-27T12:05:00Z')],
    ],
  );
});

test('readNewestSamples ignores samples without a timestamp and answers without an entity', () => {
  assert.deepEqual(
    read(
      '<entity type="Datastore">ds-1</entity><sampleInfo><interval>300</interval></sampleInfo>' +
        info('2026-11-27T12:00:00Z') +
        series(281, [9, 7]),
    ).map((s) => s.value),
    [7],
  );
  assert.deepEqual(read(info('2026-11-27T12:00:00Z') + series(281, [9])), []);
});
