import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterCollector } from '../../../src/collectors/cluster.js';
import type { CollectContext, Collector, FilterSubject } from '../../../src/collectors/collector.js';
import { datacenterCollector } from '../../../src/collectors/datacenter.js';
import { compileFilter, filterInventory } from '../../../src/collectors/filter.js';
import type { FiltersSpec } from '../../../src/model/filters.js';
import { resourcePoolCollector } from '../../../src/collectors/resource-pool.js';
import type { MetricFamily } from '../../../src/exposition/index.js';
import { buildInventory } from '../../../src/vsphere/inventory.js';
import type { ObjectContent } from '../../../src/vsphere/property-collector.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';

// Two datacenters, each with a cluster named C0 and its root pool "Resources": same names, other moids.
const ref = (t: string, v: string) => `<val type="${t}">${v}</val>`;
const OBJECTS: [string, string, Record<string, string>][] = [
  ['Datacenter', 'dc-1', { name: '<val>DC0</val>', parent: ref('Folder', 'root') }],
  ['Datacenter', 'dc-2', { name: '<val>DC1</val>', parent: ref('Folder', 'root') }],
  ['Folder', 'hf-1', { name: '<val>host</val>', parent: ref('Datacenter', 'dc-1') }],
  ['Folder', 'hf-2', { name: '<val>host</val>', parent: ref('Datacenter', 'dc-2') }],
  ['ClusterComputeResource', 'c-1', { name: '<val>C0</val>', parent: ref('Folder', 'hf-1') }],
  ['ClusterComputeResource', 'c-2', { name: '<val>C0</val>', parent: ref('Folder', 'hf-2') }],
  ['ResourcePool', 'rp-1', { name: '<val>Resources</val>', parent: ref('ClusterComputeResource', 'c-1') }],
  ['ResourcePool', 'rp-2', { name: '<val>Resources</val>', parent: ref('ClusterComputeResource', 'c-2') }],
  [
    'HostSystem',
    'h-1',
    {
      name: '<val>esx1</val>',
      parent: ref('ClusterComputeResource', 'c-1'),
      'summary.runtime.connectionState': '<val>connected</val>',
    },
  ],
  [
    'HostSystem',
    'h-2',
    {
      name: '<val>esx2</val>',
      parent: ref('ClusterComputeResource', 'c-2'),
      'summary.runtime.connectionState': '<val>disconnected</val>',
    },
  ],
  [
    'VirtualMachine',
    'vm-1',
    {
      name: '<val>vm1</val>',
      'summary.runtime.host': ref('HostSystem', 'h-1'),
      'summary.runtime.powerState': '<val>poweredOn</val>',
    },
  ],
];

async function run(
  collector: Collector,
  deny: (kind: string, s: FilterSubject) => boolean,
  filters?: FiltersSpec,
) {
  const seen: [string, FilterSubject][] = [];
  const objects: ObjectContent[] = OBJECTS.map(([type, value, props]) => ({
    obj: { type, value },
    props: new Map(Object.entries(props).map(([k, v]) => [k, parseXml(v)])),
  }));
  const whole = buildInventory(objects, { rootFolder: 'root' });
  // As the scraper does: collectors get the filtered inventory and the whole one beside it.
  const inventory = filters ? filterInventory(whole, compileFilter(filters)) : whole;
  // No client: these collectors read the model only.
  const ctx = {
    inventory,
    wholeInventory: whole,
    filter: {
      allows: (kind: string, s: FilterSubject) => {
        seen.push([kind, s]);
        return !deny(kind, s);
      },
    },
    signal: new AbortController().signal,
  } as unknown as CollectContext;
  const fams: MetricFamily[] = [];
  await collector.collect(ctx, (f) => fams.push(f));
  const blocks = fams.flatMap((f) => f.labelBlocks.map((b, i) => `${f.name}${b} ${f.values[i]}`));
  return { seen, text: blocks.join('\n') };
}

test('cluster: the filter sees name and path; an excluded cluster emits nothing', async () => {
  const { seen, text } = await run(clusterCollector, (_, s) => s.path === '/DC1/host/C0');
  assert.deepEqual(seen, [
    ['cluster', { name: 'C0', path: '/DC0/host/C0' }],
    ['cluster', { name: 'C0', path: '/DC1/host/C0' }],
  ]);
  assert.match(text, /vsphere_cluster_info\{cluster="C0",cluster_moid="c-1",datacenter="DC0"\} 1/);
  assert.match(text, /hosts_by_connection_state\{cluster="C0",cluster_moid="c-1",state="connected"\} 1/);
  assert.doesNotMatch(text, /c-2/);
});

test('resource_pool and datacenter: same-named objects kept apart by moid, excluded ones absent', async () => {
  const pools = await run(resourcePoolCollector, (_, s) => s.path === '/DC0/host/C0/Resources');
  assert.deepEqual(
    pools.seen.map(([k, s]) => `${k} ${s.path}`),
    ['resource_pool /DC0/host/C0/Resources', 'resource_pool /DC1/host/C0/Resources'],
  );
  assert.doesNotMatch(pools.text, /rp-1/);
  assert.match(
    pools.text,
    /vsphere_resource_pool_info\{resource_pool="Resources",resource_pool_moid="rp-2",path="\/DC1\/host\/C0\/Resources",cluster="C0",datacenter="DC1",parent_pool="",kind="resource_pool"\} 1/,
  );
  const dcs = await run(datacenterCollector, (_, s) => s.name === 'DC0');
  assert.doesNotMatch(dcs.text, /dc-1/);
  assert.match(dcs.text, /vsphere_datacenter_clusters\{datacenter="DC1",datacenter_moid="dc-2"\} 1/);
  assert.match(
    dcs.text,
    /hosts_by_connection_state\{datacenter="DC1",datacenter_moid="dc-2",state="disconnected"\} 1/,
  );
});

test('cluster and datacenter counts include hosts and VMs that vm/host filters leave out', async () => {
  // Filters take esx1 and vm1 out of the inventory; their cluster and datacenter still hold them.
  const filters: FiltersSpec = {
    host: { exclude: { names: ['esx1'] } },
    vm: { exclude: { names: ['vm1'] } },
  };
  const inv = filterInventory(
    buildInventory(
      OBJECTS.map(([type, value, props]) => ({
        obj: { type, value },
        props: new Map(Object.entries(props).map(([k, v]) => [k, parseXml(v)])),
      })),
      { rootFolder: 'root' },
    ),
    compileFilter(filters),
  );
  assert.deepEqual([inv.hosts.map((h) => h.name), inv.vms.length], [['esx2'], 0], 'the filters apply');
  const clusters = await run(clusterCollector, () => false, filters);
  assert.match(
    clusters.text,
    /hosts_by_connection_state\{cluster="C0",cluster_moid="c-1",state="connected"\} 1/,
  );
  assert.match(clusters.text, /vms_by_power_state\{cluster="C0",cluster_moid="c-1",state="poweredOn"\} 1/);
  const dcs = await run(datacenterCollector, () => false, filters);
  assert.match(
    dcs.text,
    /hosts_by_connection_state\{datacenter="DC0",datacenter_moid="dc-1",state="connected"\} 1/,
  );
  assert.match(dcs.text, /vms_by_power_state\{datacenter="DC0",datacenter_moid="dc-1",state="poweredOn"\} 1/);
});
