import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim, LARGE_MODEL } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { promtoolCheckMetrics, vsphereFamiliesText } from '../harness/promtool.js';
import { exporterEnv } from '../harness/env.js';
import { firstTag, RawVimClient } from '../harness/vim-soap.js';

const MODEL = LARGE_MODEL;
const EXCLUDED_CLUSTER = 'DC1_C1';
const CONFIG = `
historical:
  enabled: true
filters:
  cluster:
    exclude:
      names: ["${EXCLUDED_CLUSTER}"]
`;

/** Per kind: its id label, the vim25 type of its objects and its historical families with their counter and unit step. */
const KINDS = {
  cluster: {
    type: 'ClusterComputeResource',
    families: [
      ['vsphere_cluster_cpu_usage_5m_ratio', 'cpu.usage.average', 0],
      ['vsphere_cluster_cpu_usage_5m_hertz', 'cpu.usagemhz.average', 1e6],
      ['vsphere_cluster_memory_usage_5m_ratio', 'mem.usage.average', 0],
      ['vsphere_cluster_memory_consumed_5m_bytes', 'mem.consumed.average', 1024],
    ],
  },
  datastore: {
    type: 'Datastore',
    families: [
      ['vsphere_datastore_used_5m_bytes', 'disk.used.latest', 1024],
      ['vsphere_datastore_provisioned_5m_bytes', 'disk.provisioned.latest', 1024],
      ['vsphere_datastore_capacity_5m_bytes', 'disk.capacity.latest', 1024],
    ],
  },
  resource_pool: {
    type: 'ResourcePool',
    families: [
      ['vsphere_resource_pool_cpu_usage_5m_hertz', 'cpu.usagemhz.average', 1e6],
      ['vsphere_resource_pool_memory_consumed_5m_bytes', 'mem.consumed.average', 1024],
    ],
  },
} as const;
type Kind = keyof typeof KINDS;

const historicalBodies = (proxy: FaultProxy): string[] =>
  proxy.bodies('QueryPerf').filter((b) => b.includes('<intervalId>300</intervalId>'));
const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

describe('historical (5-minute) counters of clusters, datastores and resource pools against vcsim', () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let dir: string;
  let cfg: string;
  let env: Record<string, string>;
  const exporters: ExporterProcess[] = [];
  /** moid → name per kind, read independently of the exporter. */
  const truth = new Map<Kind, Map<string, string>>();
  let first: { text: string; samples: Sample[]; at: number; queries: string[] };
  let second: { samples: Sample[]; queries: string[] };

  const start = async (args: string[]): Promise<ExporterProcess> => {
    const e = await startExporter({ env, args });
    exporters.push(e);
    return e;
  };
  const scrape = async (e: ExporterProcess): Promise<{ text: string; samples: Sample[] }> => {
    const res = await e.scrape();
    assert.equal(res.status, 200);
    return { text: res.text, samples: parsePrometheusText(res.text).samples };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-hist-'));
    vc = await startVcsim({ args: MODEL });
    proxy = await startFaultProxy(vc.url);
    env = exporterEnv(vc, dir, { url: proxy.url });
    cfg = join(dir, 'config.yml');
    writeFileSync(cfg, CONFIG);
    const raw = new RawVimClient(vc.url);
    await raw.login(vc.user, vc.password);
    for (const [kind, { type }] of Object.entries(KINDS) as [Kind, (typeof KINDS)[Kind]][]) {
      const objects = await raw.retrieveAll(type, ['name']);
      truth.set(kind, new Map(objects.map((o) => [o.moid, firstTag(`<x>${o.props.name}</x>`, 'x') ?? ''])));
    }
    await raw.logout();

    const exporter = await start(['--config.file', cfg]);
    proxy.resetCounts();
    const a = await scrape(exporter);
    first = { ...a, at: Date.now() / 1000, queries: historicalBodies(proxy) };
    const b = await scrape(exporter);
    second = { samples: b.samples, queries: historicalBodies(proxy) };
  });
  after(async () => {
    for (const e of exporters) await e.stop();
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the model is meaningful: several clusters, datastores and resource pools', () => {
    assert.ok(truth.get('cluster')!.size >= 4, 'clusters');
    assert.ok(truth.get('datastore')!.size >= 3, 'datastores');
    assert.ok(truth.get('resource_pool')!.size >= 8, 'resource pools');
  });

  test('every allowed object has every historical family, in base units, with its sample time', () => {
    for (const [kind, { families }] of Object.entries(KINDS) as [Kind, (typeof KINDS)[Kind]][]) {
      const objects = new Map(truth.get(kind));
      if (kind === 'cluster') {
        const excluded = [...objects].find(([, name]) => name === EXCLUDED_CLUSTER);
        assert.ok(excluded, `${EXCLUDED_CLUSTER} exists`);
        objects.delete(excluded[0]);
      }
      for (const [name, counter, step] of families) {
        const series = find(first.samples, name);
        assert.deepEqual(sorted(series.map((s) => s.labels[`${kind}_moid`]!)), sorted(objects.keys()), name);
        for (const s of series) {
          const moid = s.labels[`${kind}_moid`]!;
          assert.equal(s.labels[kind], objects.get(moid), `${name} ${moid} name label`);
          assert.ok(Number.isFinite(s.value) && s.value >= 0, `${name} ${moid} = ${s.value}`);
          // vcsim answers whole kiloBytes / megaHertz: the conversion leaves exact multiples.
          if (step > 0)
            assert.equal(s.value % step, 0, `${name} ${moid} = ${s.value} is in ${counter}'s unit × ${step}`);
          const ts = find(first.samples, `vsphere_${kind}_5m_sample_timestamp_seconds`, {
            [`${kind}_moid`]: moid,
            counter,
          });
          assert.equal(ts.length, 1, `${kind} ${moid} ${counter} timestamp`);
          // vcsim stamps its newest sample "now" (vCenter: the end of the last rolled-up interval).
          assert.ok(
            ts[0]!.value <= first.at + 5 && ts[0]!.value > first.at - 900,
            `timestamp ${ts[0]!.value}`,
          );
        }
      }
    }
  });

  test('one historical QueryPerf per kind, for allowed objects only, with interval 300 and a start time', () => {
    assert.equal(first.queries.length, 3, 'cluster, datastore and resource pool: one query each');
    const excluded = [...truth.get('cluster')!].find(([, name]) => name === EXCLUDED_CLUSTER)![0];
    const all = first.queries.join('\n');
    assert.ok(!all.includes(`>${excluded}<`), 'no query names the excluded cluster');
    for (const q of first.queries) assert.match(q, /<startTime>[^<]+<\/startTime>/);
    for (const kind of ['cluster', 'datastore', 'resource_pool'] as const)
      for (const moid of truth.get(kind)!.keys())
        if (!(kind === 'cluster' && moid === excluded))
          assert.ok(all.includes(`>${moid}<`), `${kind} ${moid} queried`);
  });

  test('a second scrape right after sends no historical QueryPerf and serves the cached samples', () => {
    assert.equal(second.queries.length, first.queries.length);
    for (const { families } of Object.values(KINDS))
      for (const [name] of families) {
        const a = find(first.samples, name).map((s) => `${JSON.stringify(s.labels)} ${s.value}`);
        assert.deepEqual(
          sorted(find(second.samples, name).map((s) => `${JSON.stringify(s.labels)} ${s.value}`)),
          sorted(a),
          name,
        );
      }
  });

  test('the scrape passes promtool and the three collectors succeed', async () => {
    // Only our families: the nodejs_* process metrics are not this exporter's naming to lint.
    const ours = vsphereFamiliesText(first.text);
    assert.match(ours, /^vsphere_cluster_5m_sample_timestamp_seconds\{/m);
    const r = await promtoolCheckMetrics(ours);
    assert.equal(r.code, 0, r.output);
    assert.equal(r.output.trim(), '');
    for (const c of ['cluster', 'datastore', 'resource_pool'])
      assert.equal(find(first.samples, 'vsphere_collector_success', { collector: c })[0]?.value, 1, c);
  });

  test('--no-collector.datastore removes the datastore families and its query', async () => {
    const e = await start(['--config.file', cfg, '--no-collector.datastore']);
    proxy.resetCounts();
    const { samples } = await scrape(e);
    assert.deepEqual(find(samples, 'vsphere_datastore_used_5m_bytes'), []);
    assert.deepEqual(find(samples, 'vsphere_datastore_5m_sample_timestamp_seconds'), []);
    assert.ok(find(samples, 'vsphere_cluster_cpu_usage_5m_hertz').length > 0);
    const queries = historicalBodies(proxy);
    assert.equal(queries.length, 2);
    assert.ok(!queries.join('').includes('type="Datastore"'));
  });

  test('off by default: no historical family and no historical QueryPerf', async () => {
    const e = await start([]);
    proxy.resetCounts();
    const { samples } = await scrape(e);
    assert.ok(find(samples, 'vsphere_cluster_info').length > 0);
    assert.deepEqual(
      samples.filter((s) => /_5m_/.test(s.name)).map((s) => s.name),
      [],
    );
    assert.equal(historicalBodies(proxy).length, 0);
  });
});
