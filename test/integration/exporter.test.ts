import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, listSessions, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { promtoolCheckMetrics, vsphereFamiliesText } from '../harness/promtool.js';
import { exporterEnv } from '../harness/env.js';

const value = (samples: Sample[], name: string, labels: Record<string, string>): number | undefined => {
  const hits = find(samples, name, labels);
  assert.ok(hits.length <= 1, `more than one ${name} series for ${JSON.stringify(labels)}`);
  return hits[0]?.value;
};

describe('exporter against vcsim (default VPX model)', () => {
  let vc: Vcsim;
  let exporter: ExporterProcess;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-it-'));
    vc = await startVcsim();
    exporter = await startExporter({ env: exporterEnv(vc, dir) });
  });
  after(async () => {
    await exporter?.stop();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every VM and host of the inventory appears with the values vcsim holds', async () => {
    const res = await exporter.scrape();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const { samples } = parsePrometheusText(res.text);
    assert.equal(value(samples, 'vsphere_up', {}), 1);
    assert.ok(vc.inventory.vms.length >= 4 && vc.inventory.hosts.length >= 4);
    for (const vm of vc.inventory.vms) {
      const id = { vm: vm.name, vm_moid: vm.moid };
      assert.equal(value(samples, 'vsphere_vm_cpus', id), vm.numCpu, `cpus of ${vm.name}`);
      assert.equal(
        value(samples, 'vsphere_vm_memory_bytes', id),
        vm.memoryMB * 1024 * 1024,
        `memory of ${vm.name}`,
      );
      assert.equal(value(samples, 'vsphere_vm_power_state', { ...id, state: vm.powerState }), 1);
      const info = find(samples, 'vsphere_vm_info', id);
      assert.equal(info.length, 1);
      assert.equal(info[0]!.labels.instance_uuid, vm.instanceUuid);
      assert.equal(info[0]!.labels.host_moid, vm.host);
      if (vm.powerState === 'poweredOn') {
        const ratio = value(samples, 'vsphere_vm_cpu_usage_ratio', id);
        assert.ok(ratio !== undefined && ratio >= 0, `cpu usage of ${vm.name}`);
      }
    }
    for (const h of vc.inventory.hosts) {
      const id = { host: h.name, host_moid: h.moid };
      assert.equal(value(samples, 'vsphere_host_cpu_cores', id), h.numCpuCores);
      assert.equal(value(samples, 'vsphere_host_cpu_capacity_hertz', id), h.numCpuCores * h.cpuMhz * 1e6);
      assert.equal(value(samples, 'vsphere_host_memory_capacity_bytes', id), h.memorySize);
      assert.equal(value(samples, 'vsphere_host_connection_state', { ...id, state: h.connectionState }), 1);
      assert.equal(value(samples, 'vsphere_host_maintenance_mode', id), h.inMaintenanceMode ? 1 : 0);
      assert.equal(find(samples, 'vsphere_host_info', id)[0]?.labels.esxi_version, h.version);
    }
    // Nothing but the inventory: no VM or host the simulator does not have.
    assert.equal(find(samples, 'vsphere_vm_info').length, vc.inventory.vms.length);
    assert.equal(find(samples, 'vsphere_host_info').length, vc.inventory.hosts.length);
    for (const c of ['vm', 'host'])
      assert.equal(value(samples, 'vsphere_collector_success', { collector: c }), 1);
  });

  test('promtool finds no problem in the vsphere_* families and no series is duplicated', async () => {
    const { text } = await exporter.scrape();
    const ours = vsphereFamiliesText(text);
    const check = await promtoolCheckMetrics(ours);
    assert.equal(check.code, 0, check.output);
    assert.equal(check.output.trim(), '');
    const { samples } = parsePrometheusText(text);
    const keys = samples.map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`);
    assert.equal(new Set(keys).size, keys.length);
    // Label names must not collide with the target labels Prometheus attaches.
    for (const s of samples) assert.ok(!('instance' in s.labels) && !('job' in s.labels), s.name);
  });

  test('gzip when accepted; identical content', async () => {
    // Both at once, so they share one collection (the same vsphere_scrape_duration_seconds); asked
    // again when the first had finished before the second arrived. Two collections differ: vcsim
    // adds noise to every value, and 0.24 drops every 0 of a perf series (omitempty on []int64),
    // so a family whose samples are all 0 at that instant (a VM's cpu.costop is 0 in 90 of its 100
    // slots) is absent from one and not the other.
    const duration = (t: string): number | undefined =>
      find(parsePrometheusText(t).samples, 'vsphere_scrape_duration_seconds')[0]?.value;
    let pair: { plain: string; gzip: Buffer; encoding: unknown } | undefined;
    for (let i = 0; i < 5 && !pair; i++) {
      const [plain, res] = await Promise.all([
        exporter.scrape('/metrics'),
        // undici's request() does not decompress, unlike fetch(): we see the bytes Prometheus sees.
        request(`${exporter.baseUrl}/metrics`, { headers: { 'accept-encoding': 'gzip' } }),
      ]);
      const gzip = Buffer.from(await res.body.arrayBuffer());
      // Two gzip members (shared collection + per-request process metrics) form one valid stream.
      const d = duration(plain.text);
      if (d !== undefined && duration(gunzipSync(gzip).toString()) === d)
        pair = { plain: plain.text, gzip, encoding: res.headers['content-encoding'] };
    }
    assert.ok(pair, 'no two concurrent scrapes shared a collection in 5 tries');
    assert.equal(pair.encoding, 'gzip');
    const body = gunzipSync(pair.gzip).toString();
    const names = (t: string): string[] =>
      [...new Set(parsePrometheusText(t).samples.map((s) => s.name))].sort();
    assert.deepEqual(names(body), names(pair.plain));
    // The shared collection's VM and host series, values included, are the same bytes in both.
    const vmHost = (t: string): string[] => t.split('\n').filter((l) => /^vsphere_(vm|host)_/.test(l));
    assert.ok(vmHost(pair.plain).length > 0);
    assert.deepEqual(vmHost(body), vmHost(pair.plain));
  });

  test('routes: landing page, health, readiness, 404 and 405', async () => {
    const landing = await exporter.scrape('/');
    assert.equal(landing.status, 200);
    assert.match(landing.text, /vsphere-exporter/);
    assert.match(landing.text, /href="\/metrics"/);
    assert.equal((await exporter.scrape('/-/healthy')).status, 200);
    assert.equal((await exporter.scrape('/-/ready')).status, 200);
    assert.equal((await exporter.scrape('/nope')).status, 404);
    const post = await fetch(`${exporter.baseUrl}/metrics`, { method: 'POST' });
    await post.arrayBuffer();
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('100 scrapes: one vCenter session, one login, open fds unchanged (±2)', async (t) => {
    await exporter.scrape();
    const before = exporter.openFds();
    const fromMetric = (t: string): number =>
      find(parsePrometheusText(t).samples, 'process_open_fds')[0]!.value;
    const metricBefore = fromMetric((await exporter.scrape()).text);
    let last = '';
    for (let i = 0; i < 100; i++) {
      const r = await exporter.scrape();
      assert.equal(r.status, 200);
      last = r.text;
    }
    const after = exporter.openFds();
    assert.ok(Math.abs(after - before) <= 2, `fds ${before} → ${after}`);
    assert.ok(
      Math.abs(fromMetric(last) - metricBefore) <= 2,
      `process_open_fds ${metricBefore} → ${fromMetric(last)}`,
    );
    const samples = parsePrometheusText(last).samples;
    assert.equal(value(samples, 'vsphere_session_logins_total', {}), 1);
    const sessions = (await listSessions(vc)).filter((s) => s.userName === vc.user);
    t.diagnostic(
      `100 scrapes: fds ${before} -> ${after}, process_open_fds ${metricBefore} -> ${fromMetric(last)}, sessions ${sessions.length}`,
    );
    assert.equal(sessions.length, 1, JSON.stringify(sessions));
    // The inventory model is one view and one PropertyCollector for the session, read for changes
    // once per collection; no collector reads a view of its own.
    const calls = (m: string): number =>
      find(samples, 'vsphere_soap_requests_total', { method: m }).reduce((s, x) => s + x.value, 0);
    assert.equal(calls('CreateContainerView'), 1);
    assert.equal(calls('DestroyView'), 0);
    assert.equal(calls('CreatePropertyCollector'), 1);
    assert.ok(calls('WaitForUpdatesEx') >= 100);
  });
});

describe('exporter lifecycle', () => {
  test('50 concurrent scrapes at cold start share one Login; SIGTERM logs out and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-it-'));
    const vc = await startVcsim();
    let stopLater: ExporterProcess | undefined;
    try {
      const exporter = await startExporter({ env: exporterEnv(vc, dir), waitReady: false });
      stopLater = exporter;
      const results = await Promise.all(Array.from({ length: 50 }, () => exporter.scrape()));
      for (const r of results) assert.equal(r.status, 200);
      const samples = parsePrometheusText((await exporter.scrape()).text).samples;
      assert.equal(value(samples, 'vsphere_session_logins_total', {}), 1);
      assert.equal(
        find(samples, 'vsphere_soap_requests_total', { method: 'Login' }).reduce((s, x) => s + x.value, 0),
        1,
      );
      assert.equal((await listSessions(vc)).filter((s) => s.userName === vc.user).length, 1);
      const t0 = Date.now();
      exporter.signal('SIGTERM');
      const exit = await exporter.exited;
      assert.equal(exit.code, 0);
      assert.ok(Date.now() - t0 < 5000, 'exits within 5 s');
      assert.ok(exporter.logs.some((l) => l.msg === 'logged out of vCenter'));
      assert.deepEqual(
        (await listSessions(vc)).filter((s) => s.userName === vc.user),
        [],
      );
    } finally {
      await stopLater?.stop();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('vCenter unreachable: 200 with vsphere_up 0 and a reason, quickly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-it-'));
    const vc = await startVcsim();
    const env = exporterEnv(vc, dir);
    await vc.stop();
    const exporter = await startExporter({ env, waitReady: false });
    try {
      const t0 = Date.now();
      const res = await exporter.scrape();
      assert.ok(Date.now() - t0 < 2000);
      assert.equal(res.status, 200);
      const samples = parsePrometheusText(res.text).samples;
      assert.equal(value(samples, 'vsphere_up', {}), 0);
      assert.equal(find(samples, 'vsphere_last_error_info')[0]?.labels.code, 'VSPHERE_CONNECTION');
      assert.equal(value(samples, 'vsphere_collector_success', { collector: 'vm' }), 0);
      assert.equal((await exporter.scrape('/-/ready')).status, 503);
    } finally {
      await exporter.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('deadline from X-Prometheus-Scrape-Timeout-Seconds aborts a slow vCenter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-it-'));
    // The inventory read (WaitForUpdatesEx with the default incremental inventory) takes 4 s.
    const vc = await startVcsim({ args: ['-method-delay', 'WaitForUpdatesEx:4000'] });
    const exporter = await startExporter({ env: exporterEnv(vc, dir) });
    try {
      const t0 = Date.now();
      const res = await exporter.scrape('/metrics', { 'X-Prometheus-Scrape-Timeout-Seconds': '2' });
      const took = Date.now() - t0;
      // Cut at the 1.5 s deadline (2 s less the 0.5 s offset), not at vCenter's answer after 4 s; the
      // upper bound leaves a busy machine room without reaching the 4 s.
      assert.ok(took >= 1400 && took < 3500, `answered after ${took} ms`);
      const samples = parsePrometheusText(res.text).samples;
      assert.equal(value(samples, 'vsphere_up', {}), 0);
      // The first inventory read goes on in the background; the scrape says it is still loading.
      assert.equal(find(samples, 'vsphere_last_error_info')[0]?.labels.code, 'VSPHERE_INVENTORY_LOADING');
    } finally {
      await exporter.stop();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
