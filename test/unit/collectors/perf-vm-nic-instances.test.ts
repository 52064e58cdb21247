import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectPerfFamilies } from '../../../src/collectors/perf-families.js';
import { VM_INSTANCE_PERF } from '../../../src/collectors/perf-instance-metrics.js';
import { VM_PERF } from '../../../src/collectors/perf-metrics.js';
import type {
  PerfCounter,
  PerfEntitySamples,
  PerfManager,
  PerfSample,
} from '../../../src/vsphere/perf-manager.js';
import { entitiesOf } from './perf-fixture.js';
import { readEntityMetric } from '../../harness/perf-tree-reader.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';

// Counter keys as vCenter 9.0.1 numbers them (only their consistency within the test matters).
const RX = 146;
const TX = 147;
const CATALOGUE = new Map<string, PerfCounter>(
  [...VM_PERF, ...VM_INSTANCE_PERF].map((d, i) => [
    d.counter,
    {
      key:
        d.counter === 'net.received.average' ? RX : d.counter === 'net.transmitted.average' ? TX : 1000 + i,
      name: d.counter,
      unit: d.unit,
      statsType: 'rate',
    },
  ]),
);

// Shaped like vCenter 9.0.1's QueryPerf answer for one VM with one vNIC (device key 4000) on a host
// with five uplinks: instance "*" returns the aggregate "", the vNIC AND the host's vmnic0…vmnic4.
const series = (counter: number, instance: string, values: string): string =>
  `<value><id><counterId>${counter}</counterId><instance>${instance}</instance></id><value>${values}</value></value>`;
const ANSWER =
  '<returnval xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="PerfEntityMetricCSV">' +
  '<entity type="VirtualMachine">vm-2041</entity>' +
  '<sampleInfoCSV>20,2026-11-30T09:14:40Z</sampleInfoCSV>' +
  series(RX, '', '12') +
  series(RX, '4000', '12') +
  ['vmnic0', 'vmnic1', 'vmnic2', 'vmnic3', 'vmnic4'].map((n, i) => series(RX, n, String(900 + i))).join('') +
  series(TX, '', '7') +
  series(TX, '4000', '7') +
  ['vmnic0', 'vmnic1', 'vmnic2', 'vmnic3', 'vmnic4'].map((n, i) => series(TX, n, String(800 + i))).join('') +
  '</returnval>';

function recordedPerf(): PerfManager {
  return {
    counters: () => Promise.resolve(CATALOGUE),
    queryRealtimeEntities: (_q: unknown, _signal: AbortSignal, onEntity: (e: PerfEntitySamples) => void) => {
      const got: PerfSample[] = [];
      readEntityMetric(parseXml(ANSWER), (s) => got.push(s));
      for (const e of entitiesOf(got)) onEntity(e);
      return Promise.resolve();
    },
  } as unknown as PerfManager;
}

test("a VM's per-vNIC families keep its own vNICs, not the host uplinks vCenter 9.0.1 lists with them", async () => {
  const families = await collectPerfFamilies(
    recordedPerf(),
    'vsphere_vm',
    ['vm', 'vm_moid'],
    [...VM_PERF, ...VM_INSTANCE_PERF],
    [{ entity: { type: 'VirtualMachine', value: 'vm-2041' }, labels: ['web01', 'vm-2041'] }],
    new AbortController().signal,
  );
  const byName = new Map(families.map((f) => [f.name, f]));
  for (const [dir, aggregate] of [
    ['receive', 12],
    ['transmit', 7],
  ] as const) {
    const nic = byName.get(`vsphere_vm_network_interface_${dir}_bytes_per_second`)!;
    assert.deepEqual(nic.labelBlocks, ['{vm="web01",vm_moid="vm-2041",device="4000"}'], dir);
    const total = byName.get(`vsphere_vm_network_${dir}_bytes_per_second`)!;
    assert.deepEqual(total.values, [aggregate * 1024], `${dir}: the aggregate is vCenter's ""`);
    // The vNICs add up to the VM's aggregate: no host traffic counted into the VM.
    assert.equal(
      nic.values.reduce((a, b) => a + b, 0),
      total.values[0],
      dir,
    );
  }
});
