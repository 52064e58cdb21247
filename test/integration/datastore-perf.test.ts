/**
 * Datastores by name against vcsim: the per-datastore realtime series equal what a raw SOAP client
 * (no code shared with the exporter) computes from its own QueryPerf of the hosts, and the
 * datastore collector adds no QueryPerf call to a scrape.
 *
 * vcsim names a host's datastore-counter instance by the moid of the host's first datastore (and has
 * no samples for them); vCenter names one instance per mounted datastore by the volume id its URL
 * ends in. `-datastore-perf` makes the test simulator answer the vCenter way, with fixed values.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exporterEnv, metric } from '../harness/env.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { LARGE_MODEL, startVcsim, type Vcsim } from '../harness/vcsim.js';
import { perfCounterKeys, startVcsim8, vcsim8SkipReason } from '../harness/vcsim8.js';
import { allTags, firstTag, RawVimClient, refXml, xmlUnescape } from '../harness/vim-soap.js';

// family → counter, how hosts combine, factor from vCenter's unit to the base unit.
const FAMILIES = [
  ['vsphere_datastore_read_latency_seconds', 'datastore.totalReadLatency.average', 'max', 1 / 1000],
  ['vsphere_datastore_write_latency_seconds', 'datastore.totalWriteLatency.average', 'max', 1 / 1000],
  ['vsphere_datastore_read_operations_per_second', 'datastore.numberReadAveraged.average', 'sum', 1],
  ['vsphere_datastore_write_operations_per_second', 'datastore.numberWriteAveraged.average', 'sum', 1],
  ['vsphere_datastore_read_bytes_per_second', 'datastore.read.average', 'sum', 1024],
  ['vsphere_datastore_write_bytes_per_second', 'datastore.write.average', 'sum', 1024],
] as const;

const text = (xml: string | undefined): string => xmlUnescape(firstTag(`<x>${xml ?? ''}</x>`, 'x') ?? '');
const realtime = (bodies: string[]): string[] => bodies.filter((b) => b.includes('<intervalId>20<'));

/** What the raw client computes: datastore moid → family → value, and hosts per datastore. */
interface Truth {
  names: Map<string, string>;
  values: Map<string, Map<string, number>>;
  hosts: Map<string, number>;
}

/** The raw client's own reading: datastores and hosts, one QueryPerf of every host, mapped and aggregated here. */
async function rawTruth(vc: Vcsim): Promise<Truth> {
  const c = new RawVimClient(vc.url);
  await c.login(vc.user, vc.password);
  try {
    const datastores = await c.retrieveAll('Datastore', ['name', 'summary.url']);
    const byVolume = new Map<string, string>();
    const names = new Map<string, string>();
    for (const d of datastores) {
      names.set(d.moid, text(d.props.name));
      byVolume.set(text(d.props['summary.url']).replace(/\/+$/, '').split('/').pop()!, d.moid);
    }
    const hosts = (
      await c.retrieveAll('HostSystem', ['runtime.connectionState', 'runtime.powerState'])
    ).filter(
      (h) =>
        text(h.props['runtime.connectionState']) === 'connected' &&
        text(h.props['runtime.powerState']) === 'poweredOn',
    );
    const keys = await perfCounterKeys(c);
    const byKey = new Map(FAMILIES.map((f) => [keys.get(f[1])!, f]));
    const metricIds = [...byKey.keys()]
      .map((k) => `<metricId><counterId>${k}</counterId><instance>*</instance></metricId>`)
      .join('');
    const xml = await c.call(
      'QueryPerf',
      refXml('_this', { type: 'PerformanceManager', value: 'PerfMgr' }) +
        hosts
          .map(
            (h) =>
              `<querySpec>${refXml('entity', { type: 'HostSystem', value: h.moid })}<maxSample>1</maxSample>` +
              `${metricIds}<intervalId>20</intervalId></querySpec>`,
          )
          .join(''),
    );
    const values = new Map<string, Map<string, number>>();
    const hostSets = new Map<string, Set<string>>();
    for (const rv of allTags(xml, 'returnval')) {
      const host = /<entity type="HostSystem">([^<]*)</.exec(rv)![1]!;
      const series =
        /<id><counterId>(\d+)<\/counterId><instance(?:\/>|>([^<]*)<\/instance>)<\/id>((?:<value>-?\d+<\/value>)*)/g;
      for (const m of rv.matchAll(series)) {
        const f = byKey.get(Number(m[1]));
        const ds = byVolume.get(xmlUnescape(m[2] ?? ''));
        const v = Number(/<value>(-?\d+)<\/value>/.exec(m[3] ?? '')?.[1] ?? -1);
        if (!f || !m[2] || ds === undefined || v < 0) continue;
        const perDs = values.get(ds) ?? new Map<string, number>();
        values.set(ds, perDs);
        const had = perDs.get(f[0]);
        const x = v * f[3];
        perDs.set(f[0], had === undefined ? x : f[2] === 'sum' ? had + x : Math.max(had, x));
        hostSets.set(ds, (hostSets.get(ds) ?? new Set()).add(host));
      }
    }
    return { names, values, hosts: new Map([...hostSets].map(([k, s]) => [k, s.size])) };
  } finally {
    await c.logout();
  }
}

describe('datastores by name: per-datastore realtime series against vcsim (-datastore-perf)', () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let dir: string;
  const exporters: ExporterProcess[] = [];
  let withDs: { samples: Sample[]; queries: string[] };
  let withoutDs: { samples: Sample[]; queries: string[] };
  let truth: Truth;

  const scrapeThrough = async (args: string[]): Promise<{ samples: Sample[]; queries: string[] }> => {
    const e = await startExporter({ env: exporterEnv(vc, dir, { url: proxy.url }), args });
    exporters.push(e);
    proxy.resetCounts();
    const res = await e.scrape();
    assert.equal(res.status, 200);
    return { samples: parsePrometheusText(res.text).samples, queries: realtime(proxy.bodies('QueryPerf')) };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-dsperf-'));
    vc = await startVcsim({ args: [...LARGE_MODEL, '-datastore-perf'] });
    proxy = await startFaultProxy(vc.url);
    withDs = await scrapeThrough([]);
    withoutDs = await scrapeThrough(['--no-collector.datastore']);
    truth = await rawTruth(vc);
  });
  after(async () => {
    for (const e of exporters) await e.stop();
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every datastore has every family, equal to the raw client QueryPerf summed or maxed over its hosts', (t) => {
    assert.ok(truth.values.size >= 3, `the raw client sees datastores with samples (${truth.values.size})`);
    assert.ok(
      [...truth.hosts.values()].some((n) => n > 1),
      'some datastore is shared by several hosts',
    );
    for (const [name] of FAMILIES) {
      const got = find(withDs.samples, name);
      assert.deepEqual(
        got.map((s) => s.labels.datastore_moid).sort(),
        [...truth.values.keys()].sort(),
        `${name}: one series per datastore`,
      );
      for (const s of got) {
        const moid = s.labels.datastore_moid!;
        assert.equal(s.labels.datastore, truth.names.get(moid), `${name} ${moid} name`);
        const want = truth.values.get(moid)!.get(name)!;
        assert.ok(want > 0, `${name} ${moid}: vcsim answered a non-zero value`);
        assert.ok(Math.abs(s.value - want) <= 1e-9 * want, `${name} ${moid}: ${s.value} vs raw ${want}`);
      }
    }
    for (const [moid, n] of truth.hosts)
      assert.equal(metric(withDs.samples, 'vsphere_datastore_realtime_hosts', { datastore_moid: moid }), n);
    assert.equal(metric(withDs.samples, 'vsphere_datastore_realtime_unmapped_instances'), 0);
    assert.equal(metric(withDs.samples, 'vsphere_collector_success', { collector: 'datastore' }), 1);
    for (const [name] of FAMILIES) {
      const s = find(withDs.samples, name)[0]!;
      t.diagnostic(`${name}{datastore="${s.labels.datastore}"} ${s.value}`);
    }
  });

  test('the datastore collector adds no QueryPerf: its counters ride in the hosts query ("*")', (t) => {
    assert.ok(withDs.queries.length > 0, 'realtime QueryPerf was sent');
    assert.equal(withDs.queries.length, withoutDs.queries.length, 'QueryPerf calls per scrape');
    const ids = (qs: string[]) =>
      new Set(
        qs.flatMap((b) => [...b.matchAll(/<counterId>(\d+)<\/counterId><instance>\*</g)].map((m) => m[1])),
      );
    const on = ids(withDs.queries);
    const off = ids(withoutDs.queries);
    // numberReadAveraged is asked only for the datastore collector; totalReadLatency by the host collector too.
    assert.ok(
      on.size > off.size,
      `more counters with "*" when the datastore collector runs (${off.size} → ${on.size})`,
    );
    assert.equal(find(withoutDs.samples, 'vsphere_datastore_read_operations_per_second').length, 0);
    t.diagnostic(
      `realtime QueryPerf per scrape: ${withDs.queries.length} with, ${withoutDs.queries.length} without the datastore collector`,
    );
  });
});

/** The instances (and whether any carries a value) a raw "*" QueryPerf of one host's datastore.read.average returns. */
async function rawInstances(c: RawVimClient, host: string): Promise<{ instance: string; valued: boolean }[]> {
  const key = (await perfCounterKeys(c)).get('datastore.read.average')!;
  const xml = await c.call(
    'QueryPerf',
    refXml('_this', { type: 'PerformanceManager', value: 'PerfMgr' }) +
      `<querySpec>${refXml('entity', { type: 'HostSystem', value: host })}<maxSample>1</maxSample>` +
      `<metricId><counterId>${key}</counterId><instance>*</instance></metricId><intervalId>20</intervalId></querySpec>`,
  );
  const series = /<instance(?:\/>|>([^<]*)<\/instance>)<\/id>((?:<value>-?\d+<\/value>)*)/g;
  return [...xml.matchAll(series)].map((m) => ({ instance: xmlUnescape(m[1] ?? ''), valued: m[2] !== '' }));
}

describe('stock simulators: their own instance naming maps to no datastore and breaks nothing', () => {
  const check = async (
    t: { diagnostic(s: string): void },
    url: string,
    user: string,
    password: string,
    env: Record<string, string>,
  ): Promise<{ instances: { instance: string; valued: boolean }[]; datastoreUrls: string[] }> => {
    const c = new RawVimClient(url);
    await c.login(user, password);
    let instances;
    let datastoreUrls;
    try {
      const host = (await c.retrieveAll('HostSystem', ['name']))[0]!.moid;
      instances = await rawInstances(c, host);
      datastoreUrls = (await c.retrieveAll('Datastore', ['summary.url'])).map((d) =>
        text(d.props['summary.url']),
      );
    } finally {
      await c.logout();
    }
    const e = await startExporter({ env });
    try {
      const res = await e.scrape();
      assert.equal(res.status, 200);
      const samples = parsePrometheusText(res.text).samples;
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'datastore' }), 1);
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'host' }), 1);
      for (const [name] of FAMILIES) assert.equal(find(samples, name).length, 0, name);
      assert.ok(find(samples, 'vsphere_datastore_info').length > 0, 'the datastores themselves are there');
    } finally {
      await e.stop();
    }
    t.diagnostic(`instances: ${JSON.stringify(instances)}; datastore URLs: ${JSON.stringify(datastoreUrls)}`);
    return { instances, datastoreUrls };
  };

  test("vcsim 0.24: the instance is the moid of the host's first datastore, without samples", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-dsperf-stock-'));
    const vc = await startVcsim({ args: ['-ds', '2'] });
    try {
      const { instances, datastoreUrls } = await check(t, vc.url, vc.user, vc.password, exporterEnv(vc, dir));
      const named = instances.filter((i) => i.instance !== '');
      assert.equal(named.length, 1, 'one instance besides the aggregate');
      assert.match(named[0]!.instance, /@folder-/, 'a vcsim 0.24 datastore moid');
      assert.ok(!named[0]!.valued, 'no sample');
      assert.ok(!datastoreUrls.some((u) => u.endsWith(named[0]!.instance)), 'no datastore URL ends in it');
    } finally {
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('vcsim 8: "*" is echoed, no instance at all', { skip: vcsim8SkipReason() }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-dsperf-8-'));
    const vc = await startVcsim8({ args: ['-host', '2', '-ds', '2'] });
    try {
      const file = join(dir, 'password');
      writeFileSync(file, `${vc.password}\n`, { mode: 0o600 });
      const env = { VSPHERE_URL: vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: file };
      const { instances } = await check(t, vc.url, vc.user, vc.password, env);
      assert.deepEqual(
        instances.map((i) => i.instance),
        ['*'],
      );
    } finally {
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
