import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourcePoolCollector } from '../../../src/collectors/resource-pool.js';
import { collectText, model, obj, ref, val, samples } from './model-fixture.js';

const MIB = 1024 * 1024;

// Cluster C0's root pool "Resources" holds pool "web", which holds vApp "shop"; the standalone
// host's compute resource has a root pool of its own.
const OBJECTS = [
  obj('Datacenter', 'dc-1', { name: val('DC0'), parent: ref('Folder', 'root') }),
  obj('Folder', 'hf-1', { name: val('host'), parent: ref('Datacenter', 'dc-1') }),
  obj('ClusterComputeResource', 'c-1', { name: val('C0'), parent: ref('Folder', 'hf-1') }),
  obj('ComputeResource', 'cr-1', { name: val('esx9'), parent: ref('Folder', 'hf-1') }),
  obj('ResourcePool', 'rp-1', {
    name: val('Resources'),
    parent: ref('ClusterComputeResource', 'c-1'),
    owner: ref('ClusterComputeResource', 'c-1'),
  }),
  // No owner read: the cluster is found by walking up.
  obj('ResourcePool', 'rp-2', {
    name: val('web'),
    parent: ref('ResourcePool', 'rp-1'),
    'summary.quickStats':
      '<val><overallCpuUsage>300</overallCpuUsage><guestMemoryUsage>10</guestMemoryUsage>' +
      '<hostMemoryUsage>20</hostMemoryUsage><balloonedMemory>3</balloonedMemory>' +
      '<swappedMemory>0</swappedMemory></val>',
    'config.cpuAllocation':
      '<val><reservation>500</reservation><limit>-1</limit><shares><shares>4000</shares></shares></val>',
    'config.memoryAllocation':
      '<val><reservation>256</reservation><limit>1024</limit><shares><shares>163840</shares></shares></val>',
  }),
  obj('VirtualApp', 'va-1', {
    name: val('shop'),
    parent: ref('ResourcePool', 'rp-2'),
    owner: ref('ClusterComputeResource', 'c-1'),
    'summary.quickStats': '<val><overallCpuUsage>40</overallCpuUsage></val>',
  }),
  obj('ResourcePool', 'rp-9', {
    name: val('Resources'),
    parent: ref('ComputeResource', 'cr-1'),
    owner: ref('ComputeResource', 'cr-1'),
  }),
];

test('resource_pool: info labels (path, cluster, datacenter, parent pool, kind) from the model alone', async () => {
  const text = await collectText(resourcePoolCollector, model(OBJECTS));
  assert.deepEqual(samples(text, 'vsphere_resource_pool_info'), [
    'vsphere_resource_pool_info{resource_pool="Resources",resource_pool_moid="rp-1",path="/DC0/host/C0/Resources",cluster="C0",datacenter="DC0",parent_pool="",kind="resource_pool"} 1',
    'vsphere_resource_pool_info{resource_pool="Resources",resource_pool_moid="rp-9",path="/DC0/host/esx9/Resources",cluster="",datacenter="DC0",parent_pool="",kind="resource_pool"} 1',
    'vsphere_resource_pool_info{resource_pool="shop",resource_pool_moid="va-1",path="/DC0/host/C0/Resources/web/shop",cluster="C0",datacenter="DC0",parent_pool="web",kind="vapp"} 1',
    'vsphere_resource_pool_info{resource_pool="web",resource_pool_moid="rp-2",path="/DC0/host/C0/Resources/web",cluster="C0",datacenter="DC0",parent_pool="Resources",kind="resource_pool"} 1',
  ]);
});

test('resource_pool: usage and allocation in base units; unlimited and unread values have no sample', async () => {
  const text = await collectText(resourcePoolCollector, model(OBJECTS));
  const web = 'resource_pool="web",resource_pool_moid="rp-2"';
  assert.deepEqual(
    samples(text, 'vsphere_resource_pool_').filter((l) => l.includes('rp-2') && !l.includes('_info{')),
    [
      `vsphere_resource_pool_cpu_reservation_hertz{${web}} ${500e6}`,
      `vsphere_resource_pool_cpu_shares{${web}} 4000`,
      `vsphere_resource_pool_cpu_usage_hertz{${web}} ${300e6}`,
      `vsphere_resource_pool_memory_ballooned_bytes{${web}} ${3 * MIB}`,
      `vsphere_resource_pool_memory_guest_usage_bytes{${web}} ${10 * MIB}`,
      `vsphere_resource_pool_memory_host_usage_bytes{${web}} ${20 * MIB}`,
      `vsphere_resource_pool_memory_limit_bytes{${web}} ${1024 * MIB}`,
      `vsphere_resource_pool_memory_reservation_bytes{${web}} ${256 * MIB}`,
      `vsphere_resource_pool_memory_shares{${web}} 163840`,
      `vsphere_resource_pool_memory_swapped_bytes{${web}} 0`,
    ],
  );
  assert.deepEqual(
    samples(text, 'vsphere_resource_pool_').filter((l) => l.includes('va-1') && !l.includes('_info{')),
    [`vsphere_resource_pool_cpu_usage_hertz{resource_pool="shop",resource_pool_moid="va-1"} ${40e6}`],
  );
  assert.deepEqual(
    samples(text, 'vsphere_resource_pool_').filter((l) => l.includes('rp-1') && !l.includes('_info{')),
    [],
  );
});

test('resource_pool: the filter sees name and path of pools and vApps; excluded ones emit nothing', async () => {
  const seen: string[] = [];
  const text = await collectText(resourcePoolCollector, model(OBJECTS), {
    filter: {
      allows: (kind, s) => {
        seen.push(`${kind} ${s.name} ${s.path}`);
        return !(s.path ?? '').startsWith('/DC0/host/C0/Resources/web');
      },
    },
  });
  assert.deepEqual(seen.sort(), [
    'resource_pool Resources /DC0/host/C0/Resources',
    'resource_pool Resources /DC0/host/esx9/Resources',
    'resource_pool shop /DC0/host/C0/Resources/web/shop',
    'resource_pool web /DC0/host/C0/Resources/web',
  ]);
  assert.doesNotMatch(text, /rp-2|va-1/);
  assert.match(text, /resource_pool_moid="rp-9"/);
});
