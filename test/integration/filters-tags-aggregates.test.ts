import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { exporterEnv, metric } from '../harness/env.js';
import { firstTag, RawVimClient, refXml, type MoRef } from '../harness/vim-soap.js';
import { addField, setField, VapiTestClient } from '../harness/vapi-fixtures.js';

// Default VPX model: DC0 with cluster DC0_C0 (hosts DC0_C0_H0..H2) and standalone host DC0_H0; VMs
// DC0_H0_VM0/1 on the standalone host and DC0_C0_RP0_VM0/1 in the cluster, all in DC0's vm folder.
// Each kind mixes names and paths, so an include or exclude by path is exercised for tags.
const CONFIG = `
filters:
  vm:
    include:
      names: ["DC0_C0_.*"]
    exclude:
      paths: ["/DC0/vm/*_VM1"]
  host:
    include:
      paths: ["/DC0/host/DC0_C0/**"]
    exclude:
      names: ["DC0_C0_H2"]
  datastore:
    exclude:
      paths: ["/DC0/datastore/pod_drop"]
  resource_pool:
    exclude:
      names: ["vapp_drop"]
`;

const moidsOf = (samples: Sample[], name: string, type: string): string[] =>
  find(samples, name, { object_type: type })
    .map((s) => s.labels.object_moid!)
    .sort();
const sum = (samples: Sample[], name: string, labels: Record<string, string>): number =>
  find(samples, name, labels).reduce((a, s) => a + s.value, 0);

async function created(raw: RawVimClient, method: string, params: string): Promise<string> {
  const moid = firstTag(await raw.call(method, params), 'returnval');
  assert.ok(moid, `${method} returned a moid`);
  return moid;
}

describe('filters apply to tags and custom attributes by name and path; cluster/datacenter counts stay whole', () => {
  let vc: Vcsim;
  let exporter: ExporterProcess;
  let dir: string;
  let raw: RawVimClient;
  let samples: Sample[] = [];
  const moid: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-filter-tags-'));
    vc = await startVcsim();
    raw = new RawVimClient(vc.url);
    await raw.login(vc.user, vc.password);
    for (const o of [...vc.inventory.vms, ...vc.inventory.hosts]) moid[o.name] = o.moid;
    const dc = (await raw.retrieveAll('Datacenter', ['datastoreFolder'])).find(() => true)!;
    const dsFolder = firstTag(`<x>${dc.props.datastoreFolder ?? ''}</x>`, 'x');
    assert.ok(dsFolder, 'DC0 names its datastore folder');
    for (const name of ['pod_keep', 'pod_drop'])
      moid[name] = await created(
        raw,
        'CreateStoragePod',
        refXml('_this', { type: 'Folder', value: dsFolder }) + `<name>${name}</name>`,
      );
    const pools = await raw.retrieveAll('ResourcePool', ['name', 'parent']);
    const [cluster] = await raw.retrieveAll('ClusterComputeResource', ['name']);
    const root = pools.find((p) => firstTag(`<x>${p.props.parent ?? ''}</x>`, 'x') === cluster?.moid);
    assert.ok(root, "the cluster's root pool");
    const pool: MoRef = { type: 'ResourcePool', value: root.moid };
    const alloc =
      '<reservation>0</reservation><expandableReservation>true</expandableReservation><limit>-1</limit><shares><shares>1000</shares><level>normal</level></shares>';
    for (const name of ['vapp_keep', 'vapp_drop'])
      moid[name] = await created(
        raw,
        'CreateVApp',
        refXml('_this', pool) +
          `<name>${name}</name><resSpec><cpuAllocation>${alloc}</cpuAllocation><memoryAllocation>${alloc}</memoryAllocation></resSpec><configSpec/>`,
      );
    const ds = await raw.retrieveAll('Datastore', ['name']);
    moid.LocalDS_0 = ds[0]!.moid;

    // One tag on every VM, host, the datastore, both pods and both vApps; one attribute on every VM.
    const rest = new VapiTestClient(new URL(vc.url).origin);
    await rest.login(vc.user, vc.password);
    const tag = await rest.tag(await rest.category('env'), 'prod');
    for (const v of vc.inventory.vms) await rest.attach(tag, 'VirtualMachine', v.moid);
    for (const h of vc.inventory.hosts) await rest.attach(tag, 'HostSystem', h.moid);
    await rest.attach(tag, 'Datastore', moid.LocalDS_0);
    for (const p of ['pod_keep', 'pod_drop']) await rest.attach(tag, 'StoragePod', moid[p]!);
    for (const a of ['vapp_keep', 'vapp_drop']) await rest.attach(tag, 'VirtualApp', moid[a]!);
    const sc = await raw.call(
      'RetrieveServiceContent',
      refXml('_this', { type: 'ServiceInstance', value: 'ServiceInstance' }),
    );
    const cfm = /<customFieldsManager type="CustomFieldsManager">([^<]+)</.exec(sc)?.[1];
    assert.ok(cfm, 'vcsim has a CustomFieldsManager');
    const owner = await addField(raw, cfm, 'owner', 'VirtualMachine');
    for (const v of vc.inventory.vms) await setField(raw, cfm, 'VirtualMachine', v.moid, owner, v.name);

    const cfg = join(dir, 'config.yml');
    writeFileSync(cfg, CONFIG);
    exporter = await startExporter({
      env: exporterEnv(vc, dir),
      args: ['--config.file', cfg, '--collector.tag'],
    });
    const res = await exporter.scrape();
    assert.equal(res.status, 200);
    samples = parsePrometheusText(res.text).samples;
    for (const c of ['tag', 'cluster', 'datacenter'])
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: c }), 1, c);
  });
  after(async () => {
    await exporter?.stop();
    await raw?.logout().catch(() => undefined);
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('VM and host tags follow include/exclude by name and by path, like the VMs and hosts', () => {
    assert.deepEqual(moidsOf(samples, 'vsphere_tag_info', 'VirtualMachine'), [moid.DC0_C0_RP0_VM0]);
    assert.deepEqual(
      moidsOf(samples, 'vsphere_tag_info', 'HostSystem'),
      [moid.DC0_C0_H0!, moid.DC0_C0_H1!].sort(),
    );
    // The same objects, and only they, have series of their own.
    assert.deepEqual(
      find(samples, 'vsphere_vm_info').map((s) => s.labels.vm),
      ['DC0_C0_RP0_VM0'],
    );
    assert.deepEqual(
      find(samples, 'vsphere_host_info')
        .map((s) => s.labels.host)
        .sort(),
      ['DC0_C0_H0', 'DC0_C0_H1'],
    );
  });

  test('custom attributes follow the same filters', () => {
    assert.deepEqual(
      find(samples, 'vsphere_custom_attribute_info').map((s) => [s.labels.object_moid, s.labels.value]),
      [[moid.DC0_C0_RP0_VM0, 'DC0_C0_RP0_VM0']],
    );
  });

  test('datastore cluster and vApp tags follow the datastore and resource_pool filters', () => {
    assert.deepEqual(moidsOf(samples, 'vsphere_tag_info', 'StoragePod'), [moid.pod_keep]);
    assert.deepEqual(moidsOf(samples, 'vsphere_tag_info', 'VirtualApp'), [moid.vapp_keep]);
    assert.deepEqual(moidsOf(samples, 'vsphere_tag_info', 'Datastore'), [moid.LocalDS_0]);
  });

  test('cluster and datacenter counts count every host and VM, agreeing with vsphere_cluster_hosts', () => {
    const cluster = { cluster: 'DC0_C0' };
    const clusterHosts = vc.inventory.hosts.filter((h) => h.name.startsWith('DC0_C0_'));
    assert.equal(metric(samples, 'vsphere_cluster_hosts', cluster), clusterHosts.length);
    assert.equal(sum(samples, 'vsphere_cluster_hosts_by_connection_state', cluster), clusterHosts.length);
    const inCluster = vc.inventory.vms.filter(
      (v) => !v.template && clusterHosts.some((h) => h.moid === v.host),
    );
    assert.ok(inCluster.length >= 2, 'both cluster VMs are counted');
    assert.equal(sum(samples, 'vsphere_cluster_vms_by_power_state', cluster), inCluster.length);
    const dc = { datacenter: 'DC0' };
    assert.equal(sum(samples, 'vsphere_datacenter_hosts_by_connection_state', dc), vc.inventory.hosts.length);
    assert.equal(
      sum(samples, 'vsphere_datacenter_vms_by_power_state', dc),
      vc.inventory.vms.filter((v) => !v.template).length,
    );
  });
});
