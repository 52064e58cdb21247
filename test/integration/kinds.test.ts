import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { promtoolCheckMetrics, vsphereFamiliesText } from '../harness/promtool.js';
import { exporterEnv, metric } from '../harness/env.js';
import { allTags, firstTag, RawVimClient, refXml, type MoRef, type RawObject } from '../harness/vim-soap.js';

const MODEL = ['-dc', '2', '-cluster', '2', '-host', '2', '-standalone-host', '1', '-pool', '2', '-ds', '3'];
const MHZ = 1e6;
const MIB = 1024 * 1024;

/** The moid of a raw `<val type="T">moid</val>` reference property. */
const refOf = (o: RawObject, prop: string): string | undefined => o.props[prop]?.trim();
const numOf = (xml: string | undefined, tag?: string): number | undefined => {
  if (xml === undefined) return undefined;
  const t = tag === undefined ? xml : firstTag(xml, tag);
  return t === undefined || t.trim() === '' ? undefined : Number(t);
};
const absentOr = (samples: Sample[], name: string, labels: Record<string, string>): number | undefined => {
  const hits = find(samples, name, labels);
  assert.ok(hits.length <= 1, `more than one ${name}${JSON.stringify(labels)}`);
  return hits[0]?.value;
};

/** Everything the test reads from vcsim itself, independently of the exporter's client. */
interface Truth {
  objects: Map<string, RawObject>;
  clusters: RawObject[];
  hosts: RawObject[];
  vms: RawObject[];
  datacenters: RawObject[];
  pools: RawObject[];
}

async function readTruth(raw: RawVimClient): Promise<Truth> {
  const named = ['name', 'parent'];
  const [folders, dcs, crs, clusters, hosts, vms, pools, vapps] = await Promise.all([
    raw.retrieveAll('Folder', named),
    raw.retrieveAll('Datacenter', [...named, 'datastore']),
    raw.retrieveAll('ComputeResource', named),
    raw.retrieveAll('ClusterComputeResource', [
      ...named,
      'host',
      'summary',
      'configuration.drsConfig.enabled',
      'configuration.dasConfig.enabled',
    ]),
    raw.retrieveAll('HostSystem', [
      ...named,
      'summary.runtime.connectionState',
      'summary.quickStats.overallCpuUsage',
      'summary.quickStats.overallMemoryUsage',
    ]),
    raw.retrieveAll('VirtualMachine', [
      'name',
      'summary.runtime.host',
      'summary.runtime.powerState',
      'summary.config.template',
    ]),
    raw.retrieveAll('ResourcePool', [...named, 'owner', 'summary', 'config']),
    raw.retrieveAll('VirtualApp', [...named, 'owner', 'summary', 'config']),
  ]);
  const objects = new Map<string, RawObject>();
  for (const o of [...folders, ...dcs, ...crs, ...clusters, ...hosts, ...vms, ...pools, ...vapps])
    objects.set(o.moid, o);
  // vcsim's view for ResourcePool lists the VirtualApp subtype too (vCenter's does as well).
  const poolMoids = new Set([...pools, ...vapps].map((p) => p.moid));
  return {
    objects,
    clusters,
    hosts,
    vms,
    datacenters: dcs,
    pools: [...poolMoids].map((m) => objects.get(m)!),
  };
}

/** The test's own parent walk: the first ancestor of `type`. */
function ancestor(t: Truth, moid: string | undefined, type: string): RawObject | undefined {
  for (let o = moid === undefined ? undefined : t.objects.get(moid); o;) {
    if (o.type === type) return o;
    o = t.objects.get(refOf(o, 'parent') ?? '');
  }
  return undefined;
}

const nameOf = (o: RawObject | undefined): string =>
  o ? (firstTag(`<n>${o.props.name}</n>`, 'n') ?? '') : '';

async function createVApp(raw: RawVimClient, pool: MoRef, name: string): Promise<string> {
  const alloc = (reservation: number, limit: number, shares: number): string =>
    `<reservation>${reservation}</reservation><expandableReservation>true</expandableReservation>` +
    `<limit>${limit}</limit><shares><shares>${shares}</shares><level>custom</level></shares>`;
  const xml = await raw.call(
    'CreateVApp',
    refXml('_this', pool) +
      `<name>${name}</name><resSpec><cpuAllocation>${alloc(100, 2000, 3000)}</cpuAllocation>` +
      `<memoryAllocation>${alloc(256, -1, 6000)}</memoryAllocation></resSpec>` +
      '<configSpec><annotation>kinds test</annotation></configSpec>',
  );
  return firstTag(xml, 'returnval') ?? '';
}

describe('cluster, datacenter and resource_pool collectors against vcsim (2 DCs × 2 clusters, pools)', () => {
  let vc: Vcsim;
  let raw: RawVimClient;
  let exporter: ExporterProcess;
  let dir: string;
  let vappMoid: string;
  let truth: Truth;
  let samples: Sample[];
  let text: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-kinds-'));
    vc = await startVcsim({ args: MODEL });
    raw = new RawVimClient(vc.url);
    await raw.login(vc.user, vc.password);
    let t = await readTruth(raw);
    // A vApp under the root pool of DC1's first cluster, and VMs in other states than poweredOn.
    const dc1c0 = t.clusters.find((c) => nameOf(c) === 'DC1_C0')!;
    const rootPool = t.pools.find((p) => refOf(p, 'parent') === dc1c0.moid)!;
    vappMoid = await createVApp(raw, { type: 'ResourcePool', value: rootPool.moid }, 'kinds_vapp');
    const [off, template] = t.vms.filter((v) => v.props['summary.runtime.powerState'] === 'poweredOn');
    for (const vm of [off!, template!])
      await raw.call('PowerOffVM_Task', refXml('_this', { type: 'VirtualMachine', value: vm.moid }));
    await waitFor(async () => {
      const vms = await raw.retrieveAll('VirtualMachine', ['summary.runtime.powerState']);
      return vms.filter((v) => v.props['summary.runtime.powerState'] === 'poweredOff').length >= 2;
    });
    await raw.call('MarkAsTemplate', refXml('_this', { type: 'VirtualMachine', value: template!.moid }));
    t = await readTruth(raw);
    truth = t;
    exporter = await startExporter({ env: exporterEnv(vc, dir) });
    const res = await exporter.scrape();
    assert.equal(res.status, 200);
    text = res.text;
    samples = parsePrometheusText(text).samples;
  });
  after(async () => {
    await exporter?.stop();
    await raw?.logout().catch(() => undefined);
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('collectors succeed and promtool finds no problem', async () => {
    for (const c of ['cluster', 'datacenter', 'resource_pool'])
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: c }), 1, c);
    const ours = vsphereFamiliesText(text);
    const check = await promtoolCheckMetrics(ours);
    assert.equal(check.code, 0, check.output);
    assert.equal(check.output.trim(), '');
  });

  test('every cluster with the summary values, usage, switches and counts vcsim holds', () => {
    assert.equal(truth.clusters.length, 4);
    assert.equal(find(samples, 'vsphere_cluster_info').length, truth.clusters.length);
    for (const c of truth.clusters) {
      const id = { cluster: nameOf(c), cluster_moid: c.moid };
      const dc = ancestor(truth, c.moid, 'Datacenter');
      assert.equal(metric(samples, 'vsphere_cluster_info', { ...id, datacenter: nameOf(dc) }), 1);
      const s = c.props.summary;
      assert.ok(s !== undefined, 'vcsim fills the cluster summary');
      const m = (name: string): number => metric(samples, `vsphere_cluster_${name}`, id);
      assert.equal(m('cpu_capacity_hertz'), numOf(s, 'totalCpu')! * MHZ);
      assert.equal(m('cpu_effective_hertz'), numOf(s, 'effectiveCpu')! * MHZ);
      assert.equal(m('memory_capacity_bytes'), numOf(s, 'totalMemory'));
      assert.equal(m('memory_effective_bytes'), numOf(s, 'effectiveMemory')! * MIB);
      assert.equal(m('hosts'), numOf(s, 'numHosts'));
      assert.equal(m('effective_hosts'), numOf(s, 'numEffectiveHosts'));
      // Membership by the cluster's own `host` list, not by parent links.
      const members = new Set(allTags(c.props.host ?? '', 'ManagedObjectReference').map((x) => x.trim()));
      assert.equal(members.size, 2);
      const hosts = truth.hosts.filter((h) => members.has(h.moid));
      const connected = hosts.filter((h) => h.props['summary.runtime.connectionState'] === 'connected');
      const sum = (p: string): number => connected.reduce((a, h) => a + numOf(h.props[p])!, 0);
      assert.equal(m('cpu_usage_hertz'), sum('summary.quickStats.overallCpuUsage') * MHZ);
      assert.equal(m('memory_usage_bytes'), sum('summary.quickStats.overallMemoryUsage') * MIB);
      for (const state of ['connected', 'disconnected', 'notResponding'])
        assert.equal(
          metric(samples, 'vsphere_cluster_hosts_by_connection_state', { ...id, state }),
          hosts.filter((h) => h.props['summary.runtime.connectionState'] === state).length,
        );
      const vms = truth.vms.filter(
        (v) =>
          members.has(refOf(v, 'summary.runtime.host') ?? '') &&
          v.props['summary.config.template'] !== 'true',
      );
      for (const state of ['poweredOn', 'poweredOff', 'suspended'])
        assert.equal(
          metric(samples, 'vsphere_cluster_vms_by_power_state', { ...id, state }),
          vms.filter((v) => v.props['summary.runtime.powerState'] === state).length,
          `${state} VMs of ${id.cluster}`,
        );
      for (const [fam, prop] of [
        ['drs_enabled', 'configuration.drsConfig.enabled'],
        ['ha_enabled', 'configuration.dasConfig.enabled'],
      ] as const) {
        const v = c.props[prop];
        const expected = v === undefined ? undefined : v.trim() === 'true' ? 1 : 0;
        assert.equal(absentOr(samples, `vsphere_cluster_${fam}`, id), expected, fam);
      }
    }
  });

  test('per datacenter: clusters, hosts, VMs and datastores counted as vcsim holds them', () => {
    assert.equal(truth.datacenters.length, 2);
    assert.equal(find(samples, 'vsphere_datacenter_info').length, 2);
    for (const dc of truth.datacenters) {
      const id = { datacenter: nameOf(dc), datacenter_moid: dc.moid };
      assert.equal(metric(samples, 'vsphere_datacenter_info', { ...id, path: `/${nameOf(dc)}` }), 1);
      const inDc = (moid: string | undefined): boolean =>
        ancestor(truth, moid, 'Datacenter')?.moid === dc.moid;
      assert.equal(
        metric(samples, 'vsphere_datacenter_clusters', id),
        truth.clusters.filter((c) => inDc(c.moid)).length,
      );
      const hosts = truth.hosts.filter((h) => inDc(h.moid));
      assert.equal(hosts.length, 5, 'two clusters of two hosts and one standalone host');
      for (const state of ['connected', 'disconnected', 'notResponding'])
        assert.equal(
          metric(samples, 'vsphere_datacenter_hosts_by_connection_state', { ...id, state }),
          hosts.filter((h) => h.props['summary.runtime.connectionState'] === state).length,
        );
      const vms = truth.vms.filter(
        (v) => inDc(refOf(v, 'summary.runtime.host')) && v.props['summary.config.template'] !== 'true',
      );
      for (const state of ['poweredOn', 'poweredOff', 'suspended'])
        assert.equal(
          metric(samples, 'vsphere_datacenter_vms_by_power_state', { ...id, state }),
          vms.filter((v) => v.props['summary.runtime.powerState'] === state).length,
        );
      // The datacenter's own `datastore` list; every vcsim local datastore is accessible.
      const datastores = allTags(dc.props.datastore ?? '', 'ManagedObjectReference');
      assert.equal(datastores.length, 3);
      assert.equal(
        metric(samples, 'vsphere_datacenter_datastores_by_accessibility', { ...id, accessible: 'true' }),
        datastores.length,
      );
      assert.equal(
        metric(samples, 'vsphere_datacenter_datastores_by_accessibility', { ...id, accessible: 'false' }),
        0,
      );
    }
    // What was set up before the scrape shows: one VM powered off, the other turned into a template.
    const off = find(samples, 'vsphere_datacenter_vms_by_power_state', { state: 'poweredOff' });
    assert.equal(
      off.reduce((a, s) => a + s.value, 0),
      1,
    );
  });

  test('every resource pool and the vApp, distinct by moid, with allocation values vcsim holds', () => {
    // Per cluster: root "Resources" + 2 children; per standalone host: its root pool; plus the vApp.
    assert.equal(truth.pools.length, 2 * (2 * 3 + 1) + 1);
    assert.equal(find(samples, 'vsphere_resource_pool_info').length, truth.pools.length);
    assert.equal(find(samples, 'vsphere_resource_pool_info', { resource_pool: 'Resources' }).length, 6);
    for (const p of truth.pools) {
      const id = { resource_pool: nameOf(p), resource_pool_moid: p.moid };
      const info = find(samples, 'vsphere_resource_pool_info', id);
      assert.equal(info.length, 1, `info of ${p.moid}`);
      const labels = info[0]!.labels;
      const owner = truth.objects.get(refOf(p, 'owner') ?? '');
      const parent = truth.objects.get(refOf(p, 'parent') ?? '');
      assert.equal(labels.kind, p.type === 'VirtualApp' ? 'vapp' : 'resource_pool');
      assert.equal(labels.cluster, owner?.type === 'ClusterComputeResource' ? nameOf(owner) : '');
      assert.equal(labels.datacenter, nameOf(ancestor(truth, p.moid, 'Datacenter')));
      assert.equal(labels.parent_pool, parent?.type === 'ResourcePool' ? nameOf(parent) : '');
      // The root folder is not in a view over itself: the walk ends there.
      const path: string[] = [];
      for (let o: RawObject | undefined = p; o; o = truth.objects.get(refOf(o, 'parent') ?? ''))
        path.unshift(nameOf(o));
      assert.equal(labels.path, `/${path.join('/')}`);
      const config = p.props.config ?? '';
      for (const [kind, factor] of [
        ['cpu', MHZ],
        ['memory', MIB],
      ] as const) {
        const alloc = firstTag(config, `${kind}Allocation`) ?? '';
        const m = (name: string): number | undefined =>
          absentOr(samples, `vsphere_resource_pool_${kind}_${name}`, id);
        assert.equal(m('reservation_hertz') ?? m('reservation_bytes'), numOf(alloc, 'reservation')! * factor);
        const limit = numOf(alloc, 'limit')!;
        // -1 is "unlimited": no sample.
        assert.equal(m('limit_hertz') ?? m('limit_bytes'), limit < 0 ? undefined : limit * factor);
        // SharesInfo nests a <shares> in <shares>, which firstTag cannot tell apart.
        assert.equal(m('shares'), numOf(/<shares>\s*<shares>([^<]*)<\/shares>/.exec(alloc)?.[1]));
      }
      // vcsim leaves summary.quickStats unset: no usage samples rather than zeros.
      const stats = firstTag(p.props.summary ?? '', 'quickStats');
      const usage = absentOr(samples, 'vsphere_resource_pool_cpu_usage_hertz', id);
      assert.equal(usage, stats === undefined ? undefined : numOf(stats, 'overallCpuUsage')! * MHZ);
    }
    const vapp = find(samples, 'vsphere_resource_pool_info', { resource_pool_moid: vappMoid });
    assert.equal(vapp.length, 1);
    const { kind, cluster, parent_pool, path, datacenter } = vapp[0]!.labels;
    assert.deepEqual(
      { kind, cluster, parent_pool, path, datacenter },
      {
        kind: 'vapp',
        cluster: 'DC1_C0',
        parent_pool: 'Resources',
        path: '/DC1/host/DC1_C0/Resources/kinds_vapp',
        datacenter: 'DC1',
      },
    );
    const vappId = { resource_pool_moid: vappMoid };
    assert.equal(metric(samples, 'vsphere_resource_pool_cpu_shares', vappId), 3000);
    assert.equal(metric(samples, 'vsphere_resource_pool_memory_shares', vappId), 6000);
    assert.equal(metric(samples, 'vsphere_resource_pool_memory_reservation_bytes', vappId), 256 * MIB);
    const rp1 = find(samples, 'vsphere_resource_pool_info', { resource_pool: 'DC0_C1_RP1' });
    assert.equal(rp1[0]?.labels.path, '/DC0/host/DC0_C1/Resources/DC0_C1_RP1');
    assert.equal(
      metric(samples, 'vsphere_resource_pool_cpu_limit_hertz', { resource_pool_moid: vappMoid }),
      2000 * MHZ,
    );
    assert.equal(
      find(samples, 'vsphere_resource_pool_memory_limit_bytes', { resource_pool_moid: vappMoid }).length,
      0,
    );
  });

  test('--no-collector.cluster removes every vsphere_cluster_* family and nothing else', async () => {
    const other = await startExporter({ env: exporterEnv(vc, dir), args: ['--no-collector.cluster'] });
    try {
      const res = await other.scrape();
      const s = parsePrometheusText(res.text).samples;
      // vsphere_cluster_vsan_* belong to the vsan collector, which has its own switch.
      const clusterFamilies = s.filter(
        (x) => x.name.startsWith('vsphere_cluster_') && !x.name.startsWith('vsphere_cluster_vsan_'),
      );
      assert.equal(clusterFamilies.length, 0);
      assert.ok(find(s, 'vsphere_cluster_vsan_enabled').length > 0, 'the vsan collector still runs');
      assert.equal(find(s, 'vsphere_collector_success', { collector: 'cluster' }).length, 0);
      assert.equal(metric(s, 'vsphere_collector_success', { collector: 'resource_pool' }), 1);
      assert.ok(find(s, 'vsphere_datacenter_clusters').length === 2);
    } finally {
      await other.stop();
    }
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
