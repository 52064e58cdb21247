import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import { queryPerfBody } from '../../../src/vsphere/perf-response.js';
import { readEntityMetric } from '../../harness/perf-tree-reader.js';
import type { PerfSample } from '../../../src/vsphere/perf-manager.js';
import { bodyText } from '../../harness/soap-body.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

test('reads a PerfEntityMetricCSV: newest sample, -1 and empty fields skipped', () => {
  const rv = parseXml(
    `<returnval ${XSI} xsi:type="PerfEntityMetricCSV"><entity type="VirtualMachine">vm-7</entity>` +
      '<sampleInfoCSV>20,2026-11-27T00:00:00Z,20,2026-11-27T00:00:20Z</sampleInfoCSV>' +
      '<value><id><counterId>2</counterId><instance></instance></id><value>100,871</value></value>' +
      '<value><id><counterId>12</counterId><instance></instance></id><value>5,-1</value></value>' +
      '<value><id><counterId>98</counterId><instance></instance></id><value></value></value>' +
      '</returnval>',
  );
  const out: PerfSample[] = [];
  assert.equal(
    readEntityMetric(rv, (s) => out.push(s)),
    'csv',
  );
  assert.deepEqual(out, [
    {
      entity: { type: 'VirtualMachine', value: 'vm-7' },
      counterId: 2,
      instance: '',
      value: 871,
      intervalSeconds: 20,
      timestamp: Date.parse('2026-11-27T00:00:20Z') / 1000,
    },
  ]);
});

test('reads a PerfEntityMetric (normal format), as vcsim answers even when csv is asked for', () => {
  const rv = parseXml(
    `<returnval ${XSI} xsi:type="PerfEntityMetric"><entity type="HostSystem">host-1</entity>` +
      '<sampleInfo><timestamp>2026-11-27T00:00:20Z</timestamp><interval>20</interval></sampleInfo>' +
      '<value xsi:type="PerfMetricIntSeries"><id><counterId>2</counterId><instance></instance></id><value>42</value></value>' +
      '</returnval>',
  );
  const out: PerfSample[] = [];
  assert.equal(
    readEntityMetric(rv, (s) => out.push(s)),
    'normal',
  );
  assert.equal(out.length, 1);
  assert.equal(out[0]!.value, 42);
});

test('queryPerfBody follows the PerfQuerySpec element order and asks for csv only when told', () => {
  const q = { entity: { type: 'VirtualMachine', value: 'vm-1' }, counterIds: [2, 12] };
  assert.equal(
    bodyText(queryPerfBody([q], true)),
    '<querySpec><entity type="VirtualMachine">vm-1</entity><maxSample>1</maxSample>' +
      '<metricId><counterId>2</counterId><instance/></metricId><metricId><counterId>12</counterId><instance/></metricId>' +
      '<intervalId>20</intervalId><format>csv</format></querySpec>',
  );
  assert.doesNotMatch(bodyText(queryPerfBody([q], false)), /format/);
});

test('queryPerfBody asks for every instance ("*") of instanceCounterIds, after the aggregate ones', () => {
  const q = {
    entity: { type: 'HostSystem', value: 'host-1' },
    counterIds: [6],
    instanceCounterIds: [148, 149],
  };
  assert.equal(
    bodyText(queryPerfBody([q], false)),
    '<querySpec><entity type="HostSystem">host-1</entity><maxSample>1</maxSample>' +
      '<metricId><counterId>6</counterId><instance/></metricId>' +
      '<metricId><counterId>148</counterId><instance>*</instance></metricId>' +
      '<metricId><counterId>149</counterId><instance>*</instance></metricId>' +
      '<intervalId>20</intervalId></querySpec>',
  );
});

test('queryPerfBody is the querySpec of each entity in order, whichever id arrays they share', () => {
  const vmIds = [2, 12, 98];
  const all = [7];
  const batch = [
    { entity: { type: 'VirtualMachine', value: 'vm-1' }, counterIds: vmIds },
    { entity: { type: 'VirtualMachine', value: 'vm-2' }, counterIds: vmIds },
    { entity: { type: 'HostSystem', value: 'host-<9>' }, counterIds: [2], instanceCounterIds: all },
    // Same ids in another array, and another list in an array of the same length: no stale block.
    { entity: { type: 'VirtualMachine', value: 'vm-3' }, counterIds: [2, 12, 98] },
    { entity: { type: 'VirtualMachine', value: 'vm-4' }, counterIds: [3, 13, 99] },
    { entity: { type: 'HostSystem', value: 'host-10' }, counterIds: [], instanceCounterIds: all },
    // Multi-byte text takes more bytes than characters: the body is exactly its UTF-8.
    { entity: { type: 'VirtualMachine', value: 'vm-ü☃😀' }, counterIds: vmIds },
  ];
  const spec = (type: string, moid: string, ids: [number, string][], csv: boolean): string =>
    `<querySpec><entity type="${type}">${moid}</entity><maxSample>1</maxSample>` +
    ids
      .map(
        ([id, i]) =>
          `<metricId><counterId>${id}</counterId>${i === '' ? '<instance/>' : `<instance>${i}</instance>`}</metricId>`,
      )
      .join('') +
    `<intervalId>20</intervalId>${csv ? '<format>csv</format>' : ''}</querySpec>`;
  const vmMetrics: [number, string][] = [
    [2, ''],
    [12, ''],
    [98, ''],
  ];
  for (const csv of [true, false]) {
    // Twice: the second body is built from the cached metricId lists.
    for (let round = 0; round < 2; round++) {
      assert.equal(
        bodyText(queryPerfBody(batch, csv)),
        spec('VirtualMachine', 'vm-1', vmMetrics, csv) +
          spec('VirtualMachine', 'vm-2', vmMetrics, csv) +
          spec(
            'HostSystem',
            'host-&lt;9&gt;',
            [
              [2, ''],
              [7, '*'],
            ],
            csv,
          ) +
          spec('VirtualMachine', 'vm-3', vmMetrics, csv) +
          spec(
            'VirtualMachine',
            'vm-4',
            [
              [3, ''],
              [13, ''],
              [99, ''],
            ],
            csv,
          ) +
          spec('HostSystem', 'host-10', [[7, '*']], csv) +
          spec('VirtualMachine', 'vm-ü☃😀', vmMetrics, csv),
      );
    }
  }
  assert.equal(bodyText(queryPerfBody([], true)), '');
});
