/**
 * End to end with a real Prometheus: vcsim → exporter → prometheus (scraping every 2 s, with
 * deploy/prometheus/vsphere-alerts.yml loaded). Every dashboard variable, every panel query and
 * every rule expression is evaluated through Prometheus' HTTP API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { exporterEnv } from '../harness/env.js';
import { RawVimClient } from '../harness/vim-soap.js';
import { createSnapshot } from '../harness/vim-tasks.js';
import { parsePrometheusText } from '../harness/prom-text.js';
import { closed, eachLine, orphanSafe, procAlive, terminate, track, type Exit } from '../harness/procs.js';
import {
  dataPanels,
  loadDashboards,
  loadRules,
  metricNames,
  parseLabelValues,
  PROMETHEUS_TARGET_METRICS,
  rulesFile,
  variableQuery,
  type Dashboard,
} from '../harness/deploy.js';

const PROMETHEUS = '/usr/bin/prometheus';
const VCSIM_ARGS = [
  ...['-dc', '2', '-cluster', '2', '-host', '2', '-standalone-host', '1', '-pool', '2', '-ds', '3'],
  ...['-vm', '2', '-trigger-alarm', '-extras'],
  // Host datastore counters named and valued the vCenter way, for the per-datastore panels.
  '-datastore-perf',
];

/**
 * Families a dashboard or rule uses that this setup cannot produce, and why. A query using one of
 * them must still be accepted; it is only excused from returning data. Any other missing family
 * fails the test.
 */
const ABSENT: Record<string, string> = {
  vsphere_vm_cpu_costop_ratio: "vcsim omits zero samples; a VM's cpu.costop is 0 in 90 of its 100 slots",
  vsphere_vm_memory_ballooned_bytes: 'vcsim has no sample data for mem.vmmemctl',
  vsphere_vm_memory_swapped_bytes: 'vcsim has no sample data for mem.swapped',
  // vcsim 0.24 drops every zero of a series (Go's `omitempty` applies to each element of a
  // []int64), and its cycles of 100 slots of 20 s are at the same point for every object: a
  // family whose counter is 0 in many slots is there for some and gone for minutes at a time.
  vsphere_vm_disk_max_latency_seconds:
    "vcsim omits zero samples; a VM's disk.maxTotalLatency is 0 in 52 of its 100 slots",
  vsphere_vm_network_receive_dropped_packets_per_second: 'vcsim has no sample data for net.droppedRx',
  vsphere_vm_network_transmit_dropped_packets_per_second: 'vcsim has no sample data for net.droppedTx',
  vsphere_host_cpu_costop_ratio: "vcsim omits zero samples; a host's cpu.costop is 0 in 36 of its 100 slots",
  vsphere_host_memory_ballooned_bytes: 'vcsim has no sample data for mem.vmmemctl',
  vsphere_host_memory_swapped_bytes: 'vcsim has no sample data for mem.swapused',
  vsphere_host_disk_max_latency_seconds:
    "vcsim omits zero samples; a host's disk.maxTotalLatency is 0 in 78 of its 100 slots",
  vsphere_host_network_receive_dropped_packets_per_second: 'vcsim has no sample data for net.droppedRx',
  vsphere_host_network_transmit_dropped_packets_per_second: 'vcsim has no sample data for net.droppedTx',
  vsphere_cluster_drs_enabled: "vcsim's clusters have no configuration.drsConfig.enabled",
  vsphere_cluster_ha_enabled: "vcsim's clusters have no configuration.dasConfig.enabled",
  vsphere_datastore_cluster_info: 'the vcsim model has no StoragePod (datastore cluster)',
  vsphere_datastore_cluster_capacity_bytes: 'the vcsim model has no StoragePod',
  vsphere_datastore_cluster_free_bytes: 'the vcsim model has no StoragePod',
  vsphere_resource_pool_cpu_usage_hertz: "vcsim's resource pools have no summary.quickStats",
  vsphere_resource_pool_memory_guest_usage_bytes: "vcsim's resource pools have no summary.quickStats",
  vsphere_resource_pool_memory_host_usage_bytes: "vcsim's resource pools have no summary.quickStats",
  vsphere_resource_pool_memory_ballooned_bytes: "vcsim's resource pools have no summary.quickStats",
  vsphere_resource_pool_memory_swapped_bytes: "vcsim's resource pools have no summary.quickStats",
  vsphere_last_error_info: 'exists only while vsphere_up is 0',
  vsphere_license_used: "vcsim's evaluation licence has no used",
  vsphere_license_expiration_timestamp_seconds: "vcsim's evaluation licence has no expirationDate",
  vsphere_target_certificate_expiry_timestamp_seconds: 'this vcsim speaks http://: no certificate',
  vsphere_host_certificate_expiry_timestamp_seconds: "vcsim 0.24's hosts have a one-byte config.certificate",
  // vcsim 0.24 ignores a vsanConfig in ReconfigureComputeResource_Task: no cluster has vSAN here
  // (vcsim 8 does: test/integration/vsan-license-assignments.test.ts).
  vsphere_cluster_vsan_auto_claim_storage: 'vcsim 0.24 cannot enable vSAN on a cluster',
  vsphere_cluster_vsan_datastore_capacity_bytes: 'vcsim 0.24 has no vSAN datastore',
  vsphere_cluster_vsan_datastore_free_bytes: 'vcsim 0.24 has no vSAN datastore',
  // Cluster health: vcsim's clusters have no DRS score and an empty configuration.dasConfig.
  vsphere_cluster_drs_score_ratio: "vcsim's cluster summary has no drsScore",
  vsphere_cluster_drs_score_bucket_vms: "vcsim's cluster summary has no numVmsPerDrsScoreBucket",
  vsphere_cluster_ha_admission_control_enabled: "vcsim's clusters have no configuration.dasConfig",
  vsphere_cluster_ha_admission_control_policy: "vcsim's clusters have no configuration.dasConfig",
  vsphere_cluster_ha_configured_failover_level: "vcsim's clusters have no configuration.dasConfig",
  vsphere_cluster_ha_failover_cpu_available_ratio: "vcsim's cluster summary has no admissionControlInfo",
  vsphere_cluster_ha_failover_memory_available_ratio: "vcsim's cluster summary has no admissionControlInfo",
  vsphere_cluster_ha_failover_cpu_reserved_ratio: "vcsim's clusters have no configuration.dasConfig",
  vsphere_cluster_ha_failover_memory_reserved_ratio: "vcsim's clusters have no configuration.dasConfig",
  vsphere_vm_consolidation_needed:
    'vcsim 0.24 has no runtime.consolidationNeeded (the vSphere 8 simulator has it)',
  vsphere_vm_ha_protected: 'neither simulator fills runtime.dasVmProtection',
};

/** Panels whose query selects failures only: a healthy run against vcsim gives them no rows. */
const EMPTY_WHEN_HEALTHY: Record<string, string> = {
  'SOAP errors by method': 'counts only calls whose outcome is not "success"; every call to vcsim succeeds',
};

/** Grafana's built-in interval variables, as a 2 s scrape needs them. */
const BUILTINS: Record<string, string> = { __rate_interval: '1m', __interval: '15s', __range: '1h' };

/** Binds port 0 on loopback to learn a free port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface PromAnswer<T> {
  status: string;
  data?: T;
  error?: string;
  errorType?: string;
}
type Vector = { metric: Record<string, string>; value: [number, string] }[];

/** Replaces $var / ${var} by `values` (dashboard variables) or Grafana's built-ins. */
function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const v = values[name] ?? BUILTINS[name];
    return v ?? whole;
  });
}

/** Escapes a label value for use inside a PromQL regex matcher ("…" string). */
const regexLiteral = (s: string): string =>
  s
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"');

void describe('dashboards and alert rules against a real Prometheus scraping the exporter', () => {
  let vc: Vcsim;
  let exporter: ExporterProcess;
  let dir: string;
  let promPid: number | undefined;
  let stopProm: (() => Promise<Exit>) | undefined;
  let promUrl: string;
  let promLog = '';
  /** Families the exporter serves, plus the series Prometheus adds per target. */
  let families: Set<string>;

  const api = async <T>(path: string, params: Record<string, string | string[]>): Promise<PromAnswer<T>> => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) qs.append(k, x);
    const res = await fetch(`${promUrl}${path}?${qs.toString()}`);
    return (await res.json()) as PromAnswer<T>;
  };
  const query = (q: string) => api<{ resultType: string; result: Vector }>('/api/v1/query', { query: q });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-prom-e2e-'));
    vc = await startVcsim({ args: VCSIM_ARGS });
    // A snapshot on every VM, so the snapshot panels (whichever VM the variable picks) and the
    // old-snapshot rule have data to show.
    const raw = new RawVimClient(vc.url);
    await raw.login(vc.user, vc.password);
    for (const vm of vc.inventory.vms) await createSnapshot(raw, vm.moid, 'e2e');
    await raw.logout();
    // The events collector is off by default; on here so its panel and rules are evaluated (vcsim
    // 0.24 gives it the exporter's own login event: it delivers nothing later to a collector).
    // vm.health is opt-in too (up to 8 series per VM): on here so the VM health row is evaluated.
    const exporterConfig = join(dir, 'exporter.yml');
    writeFileSync(exporterConfig, 'vm:\n  health: true\n');
    exporter = await startExporter({
      env: exporterEnv(vc, dir),
      args: ['--collector.events', '--config.file', exporterConfig],
    });
    const scraped = await exporter.scrape();
    families = new Set([
      ...parsePrometheusText(scraped.text).samples.map((s) => s.name),
      ...PROMETHEUS_TARGET_METRICS,
    ]);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const target = new URL(exporter.baseUrl).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        // 2 s: the exporter's deadline is the timeout minus 0.5 s, and this machine is shared.
        'global: { scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(rulesFile)}]`,
        'scrape_configs:',
        '  - job_name: vsphere',
        `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
        '',
      ].join('\n'),
    );
    const [cmd, args] = orphanSafe(PROMETHEUS, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=extra-scrape-metrics',
      '--log.level=warn',
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
    track(child);
    const exited = closed(child);
    promPid = child.pid;
    stopProm = () => terminate(child, exited, 5_000);
    eachLine(child.stderr, (l) => {
      if (promLog.length < 20_000) promLog += `${l}\n`;
    });
    // Ready, then a few scrapes: rate() over 1m needs two samples, and rules need one evaluation.
    const deadline = Date.now() + 40_000;
    for (;;) {
      assert.ok(Date.now() < deadline, `Prometheus did not scrape the exporter 4 times:\n${promLog}`);
      assert.equal(child.exitCode, null, `Prometheus exited:\n${promLog}`);
      try {
        const r = await query('count_over_time(vsphere_up{job="vsphere"}[1m])');
        if (Number(r.data?.result[0]?.value[1] ?? 0) >= 4) break;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  after(async () => {
    await stopProm?.();
    await exporter?.stop();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Prometheus scrapes the exporter: target up, vsphere_up 1, every collector succeeds', async () => {
    assert.ok(promPid !== undefined);
    const targets = await api<{ activeTargets: { health: string; lastError: string }[] }>(
      '/api/v1/targets',
      {},
    );
    assert.equal(targets.data?.activeTargets.length, 1);
    assert.equal(targets.data?.activeTargets[0]?.health, 'up', targets.data?.activeTargets[0]?.lastError);
    const up = await query('vsphere_up{job="vsphere"}');
    assert.equal(up.data?.result[0]?.value[1], '1');
    const failing = await query('vsphere_collector_success{job="vsphere"} != 1');
    assert.deepEqual(failing.data?.result, []);
  });

  for (const { file, dashboard } of loadDashboards()) {
    test(`${file}: every variable has values and every panel query is accepted and has data`, async (t) => {
      const values = await resolveVariables(dashboard);
      const skipped: string[] = [];
      let checked = 0;
      for (const p of dataPanels(dashboard))
        for (const target of p.targets ?? []) {
          const expr = substitute(target.expr ?? '', values);
          assert.doesNotMatch(expr, /\$(?:\{|[a-zA-Z_])/, `${p.title}: unresolved variable in ${expr}`);
          const r = await query(expr);
          assert.equal(r.status, 'success', `${p.title}/${target.refId}: ${r.error}\n${expr}`);
          const missing = metricNames(expr).filter((n) => !families.has(n));
          if (missing.length > 0) {
            for (const n of missing) assert.ok(n in ABSENT, `${p.title}: ${n} is neither served nor excused`);
            skipped.push(`${p.title}/${target.refId} (${missing.join(', ')})`);
            continue;
          }
          let rows = r.data?.result.length ?? 0;
          if (rows === 0 && p.title !== undefined && Object.hasOwn(EMPTY_WHEN_HEALTHY, p.title)) {
            skipped.push(`${p.title}/${target.refId} (no failures to show)`);
            continue;
          }
          if (rows === 0) {
            // vcsim leaves random zero samples out, so the one object a variable picked, or the
            // latest scrape, may lack a series: the query must still return data for some object
            // at some point of the last two minutes.
            // Prometheus scrapes every 2 s: a family that every scrape so far happened to lack gets
            // more scrapes, for a bounded while, before the panel is judged empty.
            // A family excused in ABSENT gets no extra wait: it may have been in the first scrape
            // and gone ever since.
            const excused = metricNames(expr).filter((n) => n in ABSENT);
            const any = substitute(target.expr ?? '', anyValues(dashboard));
            for (const until = Date.now() + (excused.length > 0 ? 0 : 30_000); ; await sleep(2_000)) {
              rows = (await query(`count_over_time((${any})[2m:2s])`)).data?.result.length ?? 0;
              if (rows > 0 || Date.now() > until) break;
            }
            if (rows === 0 && excused.length > 0) {
              skipped.push(`${p.title}/${target.refId} (no data now for ${excused.join(', ')})`);
              continue;
            }
          }
          assert.ok(rows > 0, `${p.title}/${target.refId} returned no data:\n${expr}`);
          checked++;
        }
      assert.ok(checked > 0);
      t.diagnostic(
        `${checked} queries returned data; excused (family absent, or no failures to show): ${skipped.join('; ') || 'none'}`,
      );
    });
  }

  /** Evaluates each label_values variable in order through /api/v1/label; "All" → .*, else the first value. */
  /** Every query variable as `.*` (what "All" selects). */
  function anyValues(d: Dashboard): Record<string, string> {
    return Object.fromEntries(d.templating.list.filter((v) => v.type === 'query').map((v) => [v.name, '.*']));
  }

  async function resolveVariables(d: Dashboard): Promise<Record<string, string>> {
    const values: Record<string, string> = {};
    for (const v of d.templating.list) {
      if (v.type !== 'query') continue;
      const lv = parseLabelValues(variableQuery(v));
      assert.ok(lv, `${v.name} is a label_values query`);
      const match = substitute(lv.selector, values);
      const r = await api<string[]>(`/api/v1/label/${lv.label}/values`, { 'match[]': match });
      assert.equal(r.status, 'success', `${v.name}: ${r.error}`);
      const found = (r.data ?? []).filter((x) => x !== '');
      assert.ok(found.length > 0, `variable ${v.name} has no values for ${match}`);
      values[v.name] = v.includeAll ? (v.allValue ?? '.*') : regexLiteral(found[0]!);
    }
    return values;
  }

  test('every rule expression is accepted, and every rule evaluates without error', async () => {
    const rules = loadRules().flatMap((g) => g.rules);
    for (const rule of rules) {
      const r = await query(rule.expr);
      assert.equal(r.status, 'success', `${rule.alert}: ${r.error}`);
      for (const n of metricNames(rule.expr))
        assert.ok(families.has(n) || n in ABSENT, `${rule.alert}: ${n} is neither served nor excused`);
    }
    const loaded = await api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>(
      '/api/v1/rules',
      {},
    );
    const evaluated = loaded.data?.groups.flatMap((g) => g.rules) ?? [];
    assert.deepEqual(evaluated.map((r) => r.name).sort(), rules.map((r) => r.alert).sort());
    for (const r of evaluated) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
  });

  test("vcsim's red alarm makes VsphereAlarmRed pending; nothing about the exporter's own health", async () => {
    const res = await api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
      '/api/v1/alerts',
      {},
    );
    const names = new Set(res.data?.alerts.map((a) => a.labels.alertname));
    // -trigger-alarm sets a red, unacknowledged alarm on one host; its `for:` has not elapsed yet.
    const red = res.data?.alerts.filter((a) => a.labels.alertname === 'VsphereAlarmRed') ?? [];
    assert.ok(red.length >= 1, JSON.stringify(res.data?.alerts));
    for (const a of red) {
      assert.equal(a.state, 'pending');
      assert.equal(a.labels.status, 'red');
      assert.equal(a.labels.severity, 'critical');
    }
    for (const healthy of ['VsphereExporterDown', 'VsphereVcenterUnreachable', 'VsphereCollectorFailing'])
      assert.ok(!names.has(healthy), `${healthy} is active`);
  });

  test('Prometheus stops cleanly on SIGTERM (its pid is gone)', async () => {
    const exit = await stopProm!();
    assert.deepEqual(exit, { code: 0, signal: null }, promLog);
    assert.ok(!procAlive(promPid!), `prometheus ${promPid} still running`);
  });
});
