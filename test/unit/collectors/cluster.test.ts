import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterCollector } from '../../../src/collectors/cluster.js';
import { compileFilter, filterInventory } from '../../../src/collectors/filter.js';
import { collectText, model, obj, ref, val, samples } from './model-fixture.js';

const MIB = 1024 * 1024;

// DC0 holds cluster C0 (three hosts, one disconnected), an empty cluster and a standalone host.
const OBJECTS = [
  obj('Datacenter', 'dc-1', { name: val('DC0'), parent: ref('Folder', 'root') }),
  obj('Folder', 'hf-1', { name: val('host'), parent: ref('Datacenter', 'dc-1') }),
  obj('ClusterComputeResource', 'c-1', {
    name: val('C0'),
    parent: ref('Folder', 'hf-1'),
    summary:
      '<val><totalCpu>12000</totalCpu><totalMemory>34359738368</totalMemory><numHosts>3</numHosts>' +
      '<numEffectiveHosts>2</numEffectiveHosts><effectiveCpu>8000</effectiveCpu>' +
      '<effectiveMemory>16384</effectiveMemory></val>',
    'configuration.drsConfig.enabled': val('true'),
    'configuration.dasConfig.enabled': val('false'),
  }),
  obj('ClusterComputeResource', 'c-2', { name: val('empty'), parent: ref('Folder', 'hf-1') }),
  obj('ComputeResource', 'cr-1', { name: val('esx9'), parent: ref('Folder', 'hf-1') }),
  ...[
    ['h-1', 'c-1', 'connected', '100', '1024'],
    ['h-2', 'c-1', 'connected', '50', '512'],
    // Its quickStats are stale: counted as a host, not in usage.
    ['h-3', 'c-1', 'disconnected', '999', '999'],
    ['h-4', 'cr-1', 'connected', '7', '7'],
  ].map(([moid, parent, state, cpu, mem]) =>
    obj('HostSystem', moid!, {
      name: val(`esx-${moid}`),
      parent: ref(parent!.startsWith('c-') ? 'ClusterComputeResource' : 'ComputeResource', parent!),
      'summary.runtime.connectionState': val(state!),
      'summary.quickStats.overallCpuUsage': val(cpu!),
      'summary.quickStats.overallMemoryUsage': val(mem!),
    }),
  ),
  ...[
    ['vm-1', 'h-1', 'poweredOn', 'false'],
    ['vm-2', 'h-2', 'poweredOff', 'false'],
    ['vm-3', 'h-3', 'poweredOn', 'false'],
    ['vm-t', 'h-1', 'poweredOff', 'true'],
    ['vm-4', 'h-4', 'poweredOn', 'false'],
  ].map(([moid, host, power, template]) =>
    obj('VirtualMachine', moid!, {
      name: val(moid!),
      'summary.runtime.host': ref('HostSystem', host!),
      'summary.runtime.powerState': val(power!),
      'summary.config.template': val(template!),
    }),
  ),
];

test('cluster: every family from the model alone (capacity, usage of connected hosts, counts, DRS/HA)', async () => {
  const text = await collectText(clusterCollector, model(OBJECTS));
  const c0 = 'cluster="C0",cluster_moid="c-1"';
  assert.deepEqual(
    samples(text, 'vsphere_cluster_').filter((l) => l.includes('c-1')),
    [
      `vsphere_cluster_cpu_capacity_hertz{${c0}} ${12000e6}`,
      `vsphere_cluster_cpu_effective_hertz{${c0}} ${8000e6}`,
      `vsphere_cluster_cpu_usage_hertz{${c0}} ${150e6}`,
      `vsphere_cluster_drs_enabled{${c0}} 1`,
      `vsphere_cluster_effective_hosts{${c0}} 2`,
      `vsphere_cluster_ha_enabled{${c0}} 0`,
      `vsphere_cluster_hosts_by_connection_state{${c0},state="connected"} 2`,
      `vsphere_cluster_hosts_by_connection_state{${c0},state="disconnected"} 1`,
      `vsphere_cluster_hosts_by_connection_state{${c0},state="notResponding"} 0`,
      `vsphere_cluster_hosts{${c0}} 3`,
      `vsphere_cluster_info{${c0},datacenter="DC0"} 1`,
      `vsphere_cluster_memory_capacity_bytes{${c0}} 34359738368`,
      `vsphere_cluster_memory_effective_bytes{${c0}} ${16384 * MIB}`,
      `vsphere_cluster_memory_usage_bytes{${c0}} ${1536 * MIB}`,
      // Templates are not counted; a VM on the disconnected host is.
      `vsphere_cluster_vms_by_power_state{${c0},state="poweredOff"} 1`,
      `vsphere_cluster_vms_by_power_state{${c0},state="poweredOn"} 2`,
      `vsphere_cluster_vms_by_power_state{${c0},state="suspended"} 0`,
    ],
  );
  // A cluster without summary or flags read: its info and zero counts, no made-up values.
  const empty = 'cluster="empty",cluster_moid="c-2"';
  assert.deepEqual(
    samples(text, 'vsphere_cluster_').filter((l) => l.includes('c-2')),
    [
      `vsphere_cluster_hosts_by_connection_state{${empty},state="connected"} 0`,
      `vsphere_cluster_hosts_by_connection_state{${empty},state="disconnected"} 0`,
      `vsphere_cluster_hosts_by_connection_state{${empty},state="notResponding"} 0`,
      `vsphere_cluster_info{${empty},datacenter="DC0"} 1`,
      `vsphere_cluster_vms_by_power_state{${empty},state="poweredOff"} 0`,
      `vsphere_cluster_vms_by_power_state{${empty},state="poweredOn"} 0`,
      `vsphere_cluster_vms_by_power_state{${empty},state="suspended"} 0`,
    ],
  );
  // A standalone host's compute resource is no cluster.
  assert.doesNotMatch(text, /cr-1|esx9/);
});

test('cluster: usage and counts describe the whole cluster when filters leave hosts and VMs out', async () => {
  const whole = model(OBJECTS);
  const filter = compileFilter({
    host: { exclude: { names: ['esx-h-1'] } },
    vm: { exclude: { names: ['vm-1'] } },
  });
  const inventory = filterInventory(whole, filter);
  assert.equal(inventory.hosts.length, 3, 'the host filter applies');
  const text = await collectText(clusterCollector, inventory, { whole });
  assert.match(text, /cpu_usage_hertz\{cluster="C0",cluster_moid="c-1"\} 150000000\n/);
  assert.match(text, /hosts_by_connection_state\{cluster="C0",cluster_moid="c-1",state="connected"\} 2/);
  assert.match(text, /vms_by_power_state\{cluster="C0",cluster_moid="c-1",state="poweredOn"\} 2/);
});

test('cluster: a host update in a new snapshot changes usage; nothing is read but the model', async () => {
  const updated = OBJECTS.map((o) =>
    o.obj.value === 'h-2'
      ? obj('HostSystem', 'h-2', {
          name: val('esx-h-2'),
          parent: ref('ClusterComputeResource', 'c-1'),
          'summary.runtime.connectionState': val('notResponding'),
          'summary.quickStats.overallCpuUsage': val('50'),
        })
      : o,
  );
  const text = await collectText(clusterCollector, model(updated));
  assert.match(text, /cpu_usage_hertz\{cluster="C0",cluster_moid="c-1"\} 100000000\n/);
  assert.match(text, /memory_usage_bytes\{cluster="C0",cluster_moid="c-1"\} 1073741824\n/);
  assert.match(text, /hosts_by_connection_state\{cluster="C0",cluster_moid="c-1",state="notResponding"\} 1/);
});
