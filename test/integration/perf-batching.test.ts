/**
 * Realtime QueryPerf by object count (256 VMs or hosts with all their counters per call) at 1,000
 * VMs, and a vCenter that refuses large requests: each kind of refusal is absorbed in the same
 * scrape by smaller requests, and the size that worked is kept for the next scrape. vcsim behind
 * the fault proxy, which counts the calls and refuses the QueryPerf requests of more than 100
 * entities.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../harness/fault-proxy.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { exporterEnv, metric, timedScrape } from '../harness/env.js';
import { assertNoDuplicateSeries } from '../harness/hostile-rig.js';
import { find } from '../harness/prom-text.js';

const VMS = 1000;
const HOSTS = 20;
// bench/measure.ts's 1,000-VM model: 2 clusters of 10 hosts, 500 VMs per cluster.
const MODEL = ['-cluster', '2', '-host', '10', '-vm', '500', '-standalone-host', '0'];
const LIMIT = 100;
const MiB = 1024 * 1024;

const entities = (body: string): number => body.split('<querySpec>').length - 1;

/** Each kind of refusal, and the exporter config it needs. */
const REFUSALS: { name: string; rule: Omit<FaultRule, 'method'>; config?: string }[] = [
  {
    name: 'RestrictedByAdministrator (vpxd.stats.maxQueryMetrics)',
    rule: {
      fault: 'typed-fault',
      faultType: 'RestrictedByAdministrator',
      faultString:
        "This operation is restricted by the administrator - 'vpxd.stats.maxQueryMetrics'. Contact your system administrator.",
    },
  },
  {
    name: 'InvalidArgument',
    rule: {
      fault: 'typed-fault',
      faultType: 'InvalidArgument',
      faultString: 'A specified parameter was not correct.',
    },
  },
  { name: 'HTTP 500 (text/html)', rule: { fault: 'html-500' } },
  {
    name: 'too many XML elements',
    rule: { fault: 'element-flood', bytes: 9 * MiB },
    config: `  max_response_bytes: ${16 * MiB}\n`,
  },
  {
    name: 'an answer over max_response_bytes',
    rule: { fault: 'huge-body', bytes: 17 * MiB },
    config: `  max_response_bytes: ${16 * MiB}\n`,
  },
];

describe('QueryPerf batching at 1,000 VMs (vcsim behind the fault proxy)', () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-batching-'));
    vc = await startVcsim({ args: MODEL });
    proxy = await startFaultProxy(vc.url);
  });
  after(async () => {
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function withExporter(config: string, fn: (ex: ExporterProcess) => Promise<void>): Promise<void> {
    const file = join(dir, 'config.yml');
    writeFileSync(file, config);
    const ex = await startExporter({
      env: { ...exporterEnv(vc, dir), VSPHERE_URL: proxy.url },
      args: [`--config.file=${file}`],
    });
    try {
      await fn(ex);
    } finally {
      await ex.stop();
    }
  }

  /** One scrape with every VM's and host's realtime series; returns the entities of each QueryPerf it sent. */
  async function scrapeAll(ex: ExporterProcess): Promise<number[]> {
    proxy.resetCounts();
    // A wide deadline: this machine is shared; the calls are what is measured.
    const r = await timedScrape(ex, { 'X-Prometheus-Scrape-Timeout-Seconds': '60' });
    assert.equal(r.status, 200);
    const why = r.text
      .split('\n')
      .filter((l) => l.startsWith('vsphere_last_error_info'))
      .join('\n')
      .slice(0, 600);
    assert.equal(metric(r.samples, 'vsphere_up'), 1, why);
    assert.equal(metric(r.samples, 'vsphere_collector_success', { collector: 'vm' }), 1, why);
    assert.equal(metric(r.samples, 'vsphere_collector_success', { collector: 'host' }), 1, why);
    assert.equal(find(r.samples, 'vsphere_vm_info').length, VMS);
    assert.equal(
      find(r.samples, 'vsphere_vm_cpu_usage_hertz').length,
      VMS,
      'every VM has its realtime series',
    );
    assert.equal(find(r.samples, 'vsphere_vm_memory_consumed_bytes').length, VMS);
    assert.equal(find(r.samples, 'vsphere_host_cpu_usage_hertz').length, HOSTS);
    assertNoDuplicateSeries(r.samples);
    return proxy.bodies('QueryPerf').map(entities);
  }

  test('a steady-state scrape sends ceil(1000 / 256) + 1 QueryPerf calls (VMs, then hosts), every series present', async (t) => {
    await withExporter('{}\n', async (ex) => {
      await scrapeAll(ex);
      const calls = await scrapeAll(ex);
      t.diagnostic(`QueryPerf calls: ${calls.length} (entities per call: ${calls.join(', ')})`);
      assert.equal(calls.length, Math.ceil(VMS / 256) + 1);
      assert.deepEqual(
        calls.toSorted((a, b) => b - a),
        [256, 256, 256, 232, HOSTS],
      );
    });
  });

  for (const named of [true, false])
    test(`a VM deleted between the inventory and its QueryPerf (ManagedObjectNotFound ${named ? 'naming it' : 'naming nothing'}): only that VM's samples are left out, the vm collector succeeds, the batch size stays`, async (t) => {
      proxy.clearRules();
      try {
        await withExporter('{}\n', async (ex) => {
          await scrapeAll(ex);
          const before = await timedScrape(ex, { 'X-Prometheus-Scrape-Timeout-Seconds': '60' });
          const gone = find(before.samples, 'vsphere_vm_cpu_usage_hertz')[300]!.labels.vm_moid!;
          const entity = `<entity type="VirtualMachine">${gone}</entity>`;
          // What vCenter answers when a request names an object deleted meanwhile: the whole call faults.
          proxy.addRule({
            method: 'QueryPerf',
            fault: 'typed-fault',
            faultType: 'ManagedObjectNotFound',
            faultString: `The object 'vim.VirtualMachine:${gone}' has already been deleted or has not been completely created`,
            ...(named ? { faultFields: `<obj type="VirtualMachine">${gone}</obj>` } : {}),
            bodyMatches: (b) => b.includes(entity),
          });
          proxy.resetCounts();
          const r = await timedScrape(ex, { 'X-Prometheus-Scrape-Timeout-Seconds': '60' });
          const why = r.text
            .split('\n')
            .filter((l) => l.startsWith('vsphere_last_error_info'))
            .join('\n');
          assert.equal(metric(r.samples, 'vsphere_up'), 1, why);
          assert.equal(metric(r.samples, 'vsphere_collector_success', { collector: 'vm' }), 1, why);
          assert.equal(find(r.samples, 'vsphere_vm_info').length, VMS, 'the inventory still has it');
          const cpu = find(r.samples, 'vsphere_vm_cpu_usage_hertz');
          assert.equal(cpu.length, VMS - 1, 'every other VM has its samples');
          assert.ok(!cpu.some((s) => s.labels.vm_moid === gone), 'none for the deleted VM');
          assertNoDuplicateSeries(r.samples);
          const calls = proxy.bodies('QueryPerf').map(entities);
          t.diagnostic(`QueryPerf calls: ${calls.length} (entities per call: ${calls.join(', ')})`);
          // Named: its batch once more without it. Unnamed: halves, one of each faulted (log2 256 = 8 steps).
          if (named) assert.equal(calls.length, Math.ceil(VMS / 256) + 1 + 1);
          else assert.ok(calls.length <= Math.ceil(VMS / 256) + 1 + 2 * 8, `${calls.length} calls`);
          const told = ex.logs.filter((l) => String(l.msg).startsWith('vCenter no longer knows an entity'));
          assert.equal(told.length, 1);
          assert.equal(told[0]!.entity, `VirtualMachine:${gone}`);

          proxy.clearRules();
          const next = await scrapeAll(ex);
          assert.deepEqual(
            next.toSorted((a, b) => b - a),
            [256, 256, 256, 232, HOSTS],
            'the size vCenter accepts is unchanged',
          );
        });
      } finally {
        proxy.clearRules();
      }
    });

  for (const kind of REFUSALS)
    test(`vCenter refusing QueryPerf above ${LIMIT} entities with ${kind.name}: vsphere_up 1 and every series in the same scrape; the size that worked is kept`, async (t) => {
      proxy.clearRules();
      proxy.addRule({ method: 'QueryPerf', ...kind.rule, bodyMatches: (b) => entities(b) > LIMIT });
      // max_query_metrics 2048 makes the requests of a build that chunks realtime by it (~120 VMs) large
      // enough to be refused as well.
      try {
        await withExporter(`vsphere:\n  max_query_metrics: 2048\n${kind.config ?? ''}`, async (ex) => {
          const first = await scrapeAll(ex);
          const refused = first.filter((n) => n > LIMIT);
          assert.ok(refused.length > 0, `a request was refused (${first.join(', ')})`);
          const next = await scrapeAll(ex);
          t.diagnostic(
            `refused scrape: ${first.length} QueryPerf (${refused.length} refused: ${refused.join(', ')}); ` +
              `next scrape: ${next.length} (${next.join(', ')})`,
          );
          // 256 refused → 128 refused → 64 answered, kept: ceil(1000 / 64) VM calls and one for the hosts.
          assert.ok(
            next.every((n) => n <= LIMIT),
            `the next scrape sends no request vCenter refuses: ${next.join(', ')}`,
          );
          assert.equal(next.length, Math.ceil(VMS / 64) + 1);
          const warned = ex.logs.filter(
            (l) => l.msg === 'vCenter refused a QueryPerf batch; sending it in smaller ones',
          );
          assert.ok(warned.length > 0 && warned.length <= refused.length, `${warned.length} warnings`);
        });
      } finally {
        proxy.clearRules();
      }
    });
});
