import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { MetricFamily, encodeFamilies } from '../../../src/exposition/index.js';

const PROMTOOL = '/usr/bin/promtool';

function sampleExposition(): Buffer {
  const up = new MetricFamily('vsphere_up', 'Whether the last vCenter collection succeeded.', 'gauge', []);
  up.add([], 1);
  const cpu = new MetricFamily(
    'vsphere_vm_cpu_usage_hertz',
    'CPU usage of the VM in hertz.\nSecond line with C:\\path and "quotes".',
    'gauge',
    ['vm', 'host', 'datacenter'],
  );
  cpu.add(['vm-ünïcødé ☃', 'esx-01', 'dc1'], 1.5e9);
  cpu.add(['quote"d', 'back\\slash', 'new\nline'], NaN);
  cpu.add(['emoji 😀', '', 'tab\tand\rcr'], -Infinity);
  cpu.add(['{}=,#', 'x', 'y'], Infinity);
  cpu.add(['neg-zero', 'x', 'y'], -0);
  cpu.add(['tiny', 'x', 'y'], 1e-7);
  const reads = new MetricFamily('vsphere_vm_disk_reads_total', 'Disk read operations.', 'counter', ['vm']);
  reads.add(['vm-ünïcødé ☃'], 17179869184);
  reads.add(['big'], 1.5e21);
  const raw = new MetricFamily('vsphere_raw_value', 'An untyped value.', 'untyped', ['k']);
  raw.add(['v'], 42);
  const empty = new MetricFamily('vsphere_empty', 'Never populated.', 'gauge', []);
  return encodeFamilies([up, cpu, reads, raw, empty]);
}

void test('promtool check metrics accepts the encoded exposition', (t) => {
  if (!existsSync(PROMTOOL)) {
    t.skip(`${PROMTOOL} not installed`);
    return;
  }
  const body = sampleExposition();
  const result = spawnSync(PROMTOOL, ['check', 'metrics'], {
    input: body,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.error, undefined);
  const output = `${result.stdout}${result.stderr}`.trim();
  assert.equal(output, '', `promtool reported problems:\n${output}\n--- body ---\n${body.toString('utf8')}`);
  assert.equal(result.status, 0);
});
