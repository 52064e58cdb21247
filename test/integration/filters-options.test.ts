import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { promtoolCheckMetrics, vsphereFamiliesText } from '../harness/promtool.js';

// Default VPX model: DC0 with cluster DC0_C0 (hosts DC0_C0_H0..H2) and standalone host DC0_H0; VMs
// DC0_H0_VM0/1 on the standalone host and DC0_C0_RP0_VM0/1 in the cluster, all in DC0's vm folder.
const CONFIG = `
filters:
  vm:
    include:
      paths: ["/DC0/vm/DC0_C0_*"]
    exclude:
      names: [".*_VM1"]
  host:
    exclude:
      paths: ["/DC0/host/DC0_H0/**"]
  datastore:
    exclude:
      names: ["LocalDS_.*"]
vm:
  instance_metrics: true
  extra_counters: ["cpu.idle.summation", "mem.overhead.average", "cpu.usage.average"]
host:
  extra_counters: ["mem.overhead.average", "power.energy.summation"]
`;

// power.energy.summation (unit joule) in vcsim's catalogue.
const ENERGY_KEY = 159;

const labelsOf = (samples: Sample[], name: string, label: string): string[] =>
  [...new Set(find(samples, name).map((s) => s.labels[label]!))].sort();

describe('object filters and vm/host options from the config file', () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let exporter: ExporterProcess;
  let dir: string;
  let samples: Sample[] = [];
  let text = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-filters-'));
    vc = await startVcsim();
    proxy = await startFaultProxy(vc.url);
    const pw = join(dir, 'password');
    writeFileSync(pw, vc.password, { mode: 0o600 });
    const cfg = join(dir, 'config.yml');
    writeFileSync(cfg, CONFIG);
    exporter = await startExporter({
      env: { VSPHERE_URL: proxy.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
      args: ['--config.file', cfg],
    });
    // vcsim keeps no data for power.energy.summation (an empty series): give every host 4200 J.
    proxy.addRule({
      method: 'QueryPerf',
      fault: 'mangle',
      transform: (body) =>
        body.replace(
          new RegExp(`(<counterId>${ENERGY_KEY}</counterId><instance></instance></id>)(</value>)`, 'g'),
          '$1<value>4200</value>$2',
        ),
    });
    const res = await exporter.scrape();
    assert.equal(res.status, 200);
    text = res.text;
    samples = parsePrometheusText(text).samples;
  });
  after(async () => {
    await exporter?.stop();
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('only included, not excluded VMs and hosts are exported', () => {
    assert.deepEqual(labelsOf(samples, 'vsphere_vm_info', 'vm'), ['DC0_C0_RP0_VM0']);
    const hosts = vc.inventory.hosts.map((h) => h.name).filter((n) => n !== 'DC0_H0');
    assert.deepEqual(labelsOf(samples, 'vsphere_host_info', 'host'), hosts.sort());
    assert.deepEqual(find(samples, 'vsphere_datastore_info'), []);
    for (const c of ['vm', 'host', 'datastore'])
      assert.equal(find(samples, 'vsphere_collector_success', { collector: c })[0]?.value, 1, c);
  });

  test('no QueryPerf names an excluded VM or host', () => {
    const bodies = proxy.bodies('QueryPerf').join('\n');
    assert.ok(bodies.length > 0, 'QueryPerf was sent');
    const kept = vc.inventory.vms.find((v) => v.name === 'DC0_C0_RP0_VM0')!;
    assert.ok(bodies.includes(`>${kept.moid}<`), 'the included VM is queried');
    for (const vm of vc.inventory.vms.filter((v) => v.name !== 'DC0_C0_RP0_VM0'))
      assert.ok(!bodies.includes(`>${vm.moid}<`), `${vm.name} (${vm.moid}) not queried`);
    const standalone = vc.inventory.hosts.find((h) => h.name === 'DC0_H0')!;
    assert.ok(!bodies.includes(`>${standalone.moid}<`), 'the excluded host is not queried');
  });

  test('extra counters are exported under generated base-unit names; built-in ones are not doubled', () => {
    const id = { vm: 'DC0_C0_RP0_VM0' };
    const idle = find(samples, 'vsphere_vm_cpu_idle_summation_ratio', id);
    const overhead = find(samples, 'vsphere_vm_mem_overhead_average_bytes', id);
    assert.equal(idle.length + overhead.length > 0, true, 'at least one extra VM counter has data in vcsim');
    // A summation over vCPUs, per second of interval: between 0 and the number of vCPUs.
    for (const s of idle) assert.ok(s.value >= 0 && s.value <= 64, `ratio ${s.value}`);
    assert.equal(
      find(samples, 'vsphere_vm_cpu_usage_average_ratio').length,
      0,
      'cpu.usage.average is built in',
    );
    assert.ok(text.includes('# HELP vsphere_vm_cpu_idle_summation_ratio vCenter counter cpu.idle.summation'));
  });

  test('a joule summation (power.energy.summation) is exported as its per-second form, in watts', () => {
    const hosts = vc.inventory.hosts.map((h) => h.name).filter((n) => n !== 'DC0_H0');
    const watts = find(samples, 'vsphere_host_power_energy_summation_watts');
    assert.deepEqual([...new Set(watts.map((s) => s.labels.host))].sort(), hosts.sort());
    // 4200 J in a 20 s sample: an average draw of 210 W.
    for (const s of watts) assert.equal(s.value, 210);
    assert.ok(
      text.includes(
        '# HELP vsphere_host_power_energy_summation_watts vCenter counter power.energy.summation',
      ),
    );
  });

  test('instance_metrics adds per-vCPU series; the output passes promtool', async () => {
    const vcpu = find(samples, 'vsphere_vm_vcpu_usage_hertz', { vm: 'DC0_C0_RP0_VM0' });
    assert.ok(vcpu.length > 0 && vcpu.every((s) => s.labels.cpu !== undefined));
    const vsphereOnly = vsphereFamiliesText(text);
    const check = await promtoolCheckMetrics(vsphereOnly);
    assert.equal(check.code, 0, check.output);
    assert.equal(check.output.trim(), '');
  });
});
