import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { promtoolCheckMetrics, vsphereFamiliesText } from '../harness/promtool.js';
import { exporterEnv, metric } from '../harness/env.js';
import { allTags, firstTag, RawVimClient, refXml, xmlUnescape } from '../harness/vim-soap.js';
import { createSnapshot } from '../harness/vim-tasks.js';
import { readTruth, snapshotTruth, type Truth } from '../harness/vm-host-truth.js';
import { inProcessContext } from '../harness/in-process.js';
import { createVmCollector } from '../../src/collectors/vm.js';
import { hostCollector } from '../../src/collectors/host.js';
import type { Collector } from '../../src/collectors/collector.js';
import { encodeFamilies, type MetricFamily } from '../../src/exposition/index.js';

const MODEL = ['-dc', '2', '-cluster', '2', '-host', '2', '-standalone-host', '1', '-pool', '2', '-ds', '3'];
const VM_FAMILIES = [
  'vsphere_vm_snapshots',
  'vsphere_vm_snapshot_oldest_age_seconds',
  'vsphere_vm_guest_tools_running',
  'vsphere_vm_guest_tools_version_status',
  'vsphere_vm_guest_filesystem_capacity_bytes',
  'vsphere_vm_guest_filesystem_free_bytes',
];
const HOST_FAMILIES = [
  'vsphere_host_uptime_seconds',
  'vsphere_host_memory_usage_bytes',
  'vsphere_host_sensor_temperature_celsius',
  'vsphere_host_sensor_fan_speed_rpm',
  'vsphere_host_sensor_power_watts',
  'vsphere_host_sensor_health',
  'vsphere_host_network_interface_receive_bytes_per_second',
  'vsphere_host_network_interface_transmit_bytes_per_second',
];

const text = (xml: string, tag: string): string => firstTag(xml, tag) ?? '';

const families = (samples: Sample[]): Set<string> => new Set(samples.map((s) => s.name));

describe('VM and host extras against vcsim', () => {
  let vc: Vcsim;
  let raw: RawVimClient;
  let dir: string;
  let exporter: ExporterProcess;
  let truth: Truth;
  let snapped: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-extras-'));
    vc = await startVcsim({ args: [...MODEL, '-vm', '2', '-extras'] });
    raw = new RawVimClient(vc.url);
    await raw.login(vc.user, vc.password);
    const on = (await raw.retrieveAll('VirtualMachine', ['name', 'summary.runtime.powerState'])).filter(
      (v) => v.props['summary.runtime.powerState'] === 'poweredOn',
    );
    // Two VMs with snapshots; the first one twice, so its second snapshot nests under the first.
    snapped = [on[0]!.moid, on[1]!.moid];
    await createSnapshot(raw, snapped[0]!, 'before-upgrade');
    await createSnapshot(raw, snapped[1]!, 'nightly <1>');
    await createSnapshot(raw, snapped[0]!, 'after-upgrade');
    truth = await readTruth(raw);
    exporter = await startExporter({ env: exporterEnv(vc, dir) });
  });
  after(async () => {
    await exporter?.stop();
    await raw?.logout().catch(() => undefined);
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('snapshots: count of the whole tree and oldest age equal what vcsim holds', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    const scrapedAt = Date.now() / 1000;
    const first = snapshotTruth(truth.vms.find((v) => v.moid === snapped[0])!.props.snapshot);
    assert.equal(first.count, 2, 'vcsim holds the nested pair');
    assert.match(truth.vms.find((v) => v.moid === snapped[0])!.props.snapshot!, /<childSnapshotList>/);
    for (const vm of truth.vms) {
      const id = { vm: vm.name, vm_moid: vm.moid };
      const t = snapshotTruth(vm.props.snapshot);
      assert.equal(metric(samples, 'vsphere_vm_snapshots', id), t.count, `snapshots of ${vm.name}`);
      const age = find(samples, 'vsphere_vm_snapshot_oldest_age_seconds', id);
      if (t.count === 0) {
        assert.equal(age.length, 0, `no age for ${vm.name} without snapshots`);
        continue;
      }
      const expected = scrapedAt - Math.min(...t.times);
      assert.ok(Math.abs(age[0]!.value - expected) < 30, `age ${age[0]!.value} vs ${expected}`);
    }
    assert.equal(find(samples, 'vsphere_vm_snapshots').length, truth.vms.length);
    // Per-snapshot timestamps are opt-in.
    assert.equal(find(samples, 'vsphere_vm_snapshot_created_timestamp_seconds').length, 0);
  });

  test('guest: tools state sets, tools_version and filesystems equal vcsim', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    let filesystems = 0;
    for (const vm of truth.vms) {
      const id = { vm: vm.name, vm_moid: vm.moid };
      const running = vm.props['guest.toolsRunningStatus'];
      assert.ok(running, 'vcsim reports toolsRunningStatus');
      assert.equal(metric(samples, 'vsphere_vm_guest_tools_running', { ...id, state: running }), 1);
      assert.equal(
        find(samples, 'vsphere_vm_guest_tools_running', id).reduce((s, x) => s + x.value, 0),
        1,
      );
      const version = vm.props['guest.toolsVersionStatus2'];
      assert.ok(version, 'vcsim -extras sets toolsVersionStatus2');
      assert.equal(metric(samples, 'vsphere_vm_guest_tools_version_status', { ...id, state: version }), 1);
      assert.equal(
        find(samples, 'vsphere_vm_info', id)[0]?.labels.tools_version,
        xmlUnescape(vm.props['guest.toolsVersion'] ?? ''),
      );
      const disks = allTags(vm.props['guest.disk'] ?? '', 'GuestDiskInfo');
      assert.ok(disks.length >= 2, `vcsim -extras gives ${vm.name} filesystems`);
      for (const d of disks) {
        const mount = text(d, 'diskPath');
        const fs = { ...id, mount };
        assert.equal(
          metric(samples, 'vsphere_vm_guest_filesystem_capacity_bytes', fs),
          Number(text(d, 'capacity')),
        );
        assert.equal(
          metric(samples, 'vsphere_vm_guest_filesystem_free_bytes', fs),
          Number(text(d, 'freeSpace')),
        );
        filesystems++;
      }
    }
    assert.equal(find(samples, 'vsphere_vm_guest_filesystem_capacity_bytes').length, filesystems);
    assert.ok(find(samples, 'vsphere_vm_guest_filesystem_free_bytes', { mount: 'C:\\' }).length > 0);
  });

  test('hosts: uptime, memory usage and sensors equal vcsim; per-NIC counters carry each vmnic', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    let readings = 0;
    for (const h of truth.hosts) {
      const id = { host: h.name, host_moid: h.moid };
      assert.equal(
        metric(samples, 'vsphere_host_uptime_seconds', id),
        Number(h.props['summary.quickStats.uptime']),
      );
      assert.equal(
        metric(samples, 'vsphere_host_memory_usage_bytes', id),
        Number(h.props['summary.quickStats.overallMemoryUsage']) * 1024 * 1024,
      );
      const sensors = allTags(
        h.props['runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo'] ?? '',
        'HostNumericSensorInfo',
      );
      for (const s of sensors) {
        const sensor = { ...id, sensor: text(s, 'name') };
        const type = text(s, 'sensorType');
        const health = find(samples, 'vsphere_host_sensor_health', sensor);
        if (type === 'Software Components') {
          assert.equal(health.length, 0, 'software components are not hardware sensors');
          continue;
        }
        assert.equal(metric(samples, 'vsphere_host_sensor_health', { ...sensor, state: text(s, 'key') }), 1);
        assert.equal(health.length, 4);
        const value = Number(text(s, 'currentReading')) * 10 ** Number(text(s, 'unitModifier'));
        const family = {
          'Degrees C': 'vsphere_host_sensor_temperature_celsius',
          RPM: 'vsphere_host_sensor_fan_speed_rpm',
          Watts: 'vsphere_host_sensor_power_watts',
        }[text(s, 'baseUnits')];
        if (!family) continue;
        assert.ok(Math.abs(metric(samples, family, sensor) - value) < 1e-9, `${family} ${sensor.sensor}`);
        readings++;
      }
    }
    assert.equal(readings, truth.hosts.length * 3, 'one temperature, fan and power reading per host');
    // The NICs each host's PerformanceManager lists for net.received.average (counter 148 in vcsim).
    const h = truth.hosts[0]!;
    const available = await raw.call(
      'QueryAvailablePerfMetric',
      `${refXml('_this', { type: 'PerformanceManager', value: 'PerfMgr' })}${refXml('entity', { type: 'HostSystem', value: h.moid })}<intervalId>20</intervalId>`,
    );
    const nics = allTags(available, 'returnval')
      .filter((r) => text(r, 'counterId') === '148' && text(r, 'instance') !== '')
      .map((r) => text(r, 'instance'))
      .sort();
    assert.ok(nics.length > 0);
    const exported = find(samples, 'vsphere_host_network_interface_receive_bytes_per_second', {
      host: h.name,
      host_moid: h.moid,
    });
    assert.deepEqual(exported.map((s) => s.labels.device).sort(), nics);
    for (const s of exported) assert.ok(s.value >= 0);
  });

  test('hosts: NTP daemon state equals the ntpd service vcsim reports', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    const hosts = await raw.retrieveAll('HostSystem', ['name', 'config.service.service']);
    assert.ok(hosts.length > 0);
    for (const h of hosts) {
      const ntpd = /<key>ntpd<\/key>[\s\S]*?<running>(true|false)<\/running>/.exec(
        h.props['config.service.service'] ?? '',
      );
      assert.ok(ntpd, `vcsim lists ntpd on ${h.moid}`);
      const got = samples.find((x) => x.name === 'vsphere_host_ntp_running' && x.labels.host_moid === h.moid);
      assert.equal(got?.value, ntpd[1] === 'true' ? 1 : 0, `ntp_running of ${h.moid}`);
    }
  });

  test('promtool is clean, collectors succeed, no series is duplicated', async () => {
    const { text: body } = await exporter.scrape();
    const ours = vsphereFamiliesText(body);
    const check = await promtoolCheckMetrics(ours);
    assert.equal(check.code, 0, check.output);
    assert.equal(check.output.trim(), '');
    const { samples } = parsePrometheusText(body);
    const keys = samples.map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`);
    assert.equal(new Set(keys).size, keys.length);
    for (const c of ['vm', 'host'])
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: c }), 1);
    const names = families(samples);
    for (const f of [...VM_FAMILIES, ...HOST_FAMILIES]) assert.ok(names.has(f), `${f} exported`);
  });

  test('incremental inventory sees the same snapshots and a new one; --no-collector.host drops host families', async () => {
    const cfg = join(dir, 'incremental.yml');
    writeFileSync(cfg, 'vsphere:\n  inventory: incremental\n');
    const inc = await startExporter({
      env: exporterEnv(vc, dir),
      args: ['--config.file', cfg, '--no-collector.host'],
    });
    try {
      const target = truth.vms.find((v) => v.moid === snapped[1])!;
      const id = { vm: target.name, vm_moid: target.moid };
      let samples = parsePrometheusText((await inc.scrape()).text).samples;
      assert.equal(metric(samples, 'vsphere_vm_snapshots', id), 1);
      const names = families(samples);
      for (const f of HOST_FAMILIES) assert.ok(!names.has(f), `${f} dropped with the host collector`);
      for (const f of VM_FAMILIES) assert.ok(names.has(f), `${f} still exported`);
      await createSnapshot(raw, target.moid, 'later');
      samples = parsePrometheusText((await inc.scrape()).text).samples;
      assert.equal(
        metric(samples, 'vsphere_vm_snapshots', id),
        2,
        'the update reached the incremental inventory',
      );
    } finally {
      await inc.stop();
    }
  });

  test('--no-collector.vm drops every VM family', async () => {
    const ex = await startExporter({ env: exporterEnv(vc, dir), args: ['--no-collector.vm'] });
    try {
      const names = families(parsePrometheusText((await ex.scrape()).text).samples);
      for (const f of VM_FAMILIES) assert.ok(!names.has(f), `${f} dropped`);
      for (const f of HOST_FAMILIES) assert.ok(names.has(f), `${f} still exported`);
    } finally {
      await ex.stop();
    }
  });

  test('collector options: per-snapshot timestamps and per-instance VM counters (in-process collection)', async () => {
    const { ctx, close } = await inProcessContext(vc);
    try {
      const collect = async (c: Collector): Promise<Sample[]> => {
        const out: MetricFamily[] = [];
        await c.collect(ctx, (f) => out.push(f));
        const body = encodeFamilies(out).toString();
        const check = await promtoolCheckMetrics(body);
        assert.equal(check.code, 0, check.output);
        return parsePrometheusText(body).samples;
      };
      const samples = await collect(createVmCollector({ snapshotTimestamps: true, instanceMetrics: true }));
      const fresh = await readTruth(raw);
      for (const vm of fresh.vms) {
        const t = snapshotTruth(vm.props.snapshot);
        const created = find(samples, 'vsphere_vm_snapshot_created_timestamp_seconds', { vm_moid: vm.moid });
        assert.equal(created.length, t.count, `one timestamp per snapshot of ${vm.name}`);
        assert.deepEqual(created.map((s) => s.value).sort(), [...t.times].sort());
      }
      assert.ok(
        find(samples, 'vsphere_vm_snapshot_created_timestamp_seconds', { snapshot: 'nightly <1>' }).length,
      );
      // vcsim lists vNIC 4000 and one instance per vCPU for every powered-on VM.
      const on = fresh.vms.filter((v) => v.props['summary.runtime.powerState'] === 'poweredOn');
      for (const vm of on) {
        const nic = find(samples, 'vsphere_vm_network_interface_receive_bytes_per_second', {
          vm_moid: vm.moid,
        });
        assert.ok(
          nic.some((s) => s.labels.device === '4000'),
          `vNIC 4000 of ${vm.name}`,
        );
        assert.ok(nic.every((s) => s.labels.device !== '' && s.labels.device !== '*'));
        const vcpus = find(samples, 'vsphere_vm_vcpu_usage_hertz', { vm_moid: vm.moid });
        assert.ok(
          vcpus.length > 0 && vcpus.every((s) => /^\d+$/.test(s.labels.cpu ?? '')),
          `vCPUs of ${vm.name}`,
        );
        assert.ok(find(samples, 'vsphere_vm_vcpu_ready_ratio', { vm_moid: vm.moid }).length > 0);
        // The aggregate still feeds the existing family.
        assert.equal(
          find(samples, 'vsphere_vm_network_receive_bytes_per_second', { vm_moid: vm.moid }).length,
          1,
        );
      }
      // The default collector asks for no instances.
      const plain = await collect(createVmCollector());
      assert.equal(find(plain, 'vsphere_vm_network_interface_receive_bytes_per_second').length, 0);
      assert.equal(find(plain, 'vsphere_vm_snapshot_created_timestamp_seconds').length, 0);
      const hosts = await collect(hostCollector);
      assert.ok(
        find(hosts, 'vsphere_host_network_interface_transmit_bytes_per_second').length >= fresh.hosts.length,
      );
    } finally {
      await close();
    }
  });
});
