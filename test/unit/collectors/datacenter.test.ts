import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datacenterCollector } from '../../../src/collectors/datacenter.js';
import { collectText, model, obj, ref, val, samples } from './model-fixture.js';

// DC0 sits in a folder ("/dcs/DC0"): two clusters (one in a nested host folder), a standalone host,
// three datastores (one inaccessible, one whose accessibility was not read). DC1 is empty.
const OBJECTS = [
  obj('Folder', 'f-dcs', { name: val('dcs'), parent: ref('Folder', 'root') }),
  obj('Datacenter', 'dc-1', { name: val('DC0'), parent: ref('Folder', 'f-dcs') }),
  obj('Datacenter', 'dc-2', { name: val('DC1'), parent: ref('Folder', 'root') }),
  obj('Folder', 'hf-1', { name: val('host'), parent: ref('Datacenter', 'dc-1') }),
  obj('Folder', 'hf-sub', { name: val('rack1'), parent: ref('Folder', 'hf-1') }),
  obj('Folder', 'df-1', { name: val('datastore'), parent: ref('Datacenter', 'dc-1') }),
  obj('ClusterComputeResource', 'c-1', { name: val('C0'), parent: ref('Folder', 'hf-1') }),
  obj('ClusterComputeResource', 'c-2', { name: val('C1'), parent: ref('Folder', 'hf-sub') }),
  obj('ComputeResource', 'cr-1', { name: val('esx9'), parent: ref('Folder', 'hf-1') }),
  obj('HostSystem', 'h-1', {
    name: val('esx1'),
    parent: ref('ClusterComputeResource', 'c-1'),
    'summary.runtime.connectionState': val('connected'),
  }),
  obj('HostSystem', 'h-2', {
    name: val('esx2'),
    parent: ref('ClusterComputeResource', 'c-2'),
    'summary.runtime.connectionState': val('notResponding'),
  }),
  obj('HostSystem', 'h-9', {
    name: val('esx9'),
    parent: ref('ComputeResource', 'cr-1'),
    'summary.runtime.connectionState': val('connected'),
  }),
  ...[
    ['vm-1', 'h-1', 'poweredOn', 'false'],
    ['vm-2', 'h-9', 'suspended', 'false'],
    ['vm-t', 'h-9', 'poweredOff', 'true'],
  ].map(([moid, host, power, template]) =>
    obj('VirtualMachine', moid!, {
      name: val(moid!),
      'summary.runtime.host': ref('HostSystem', host!),
      'summary.runtime.powerState': val(power!),
      'summary.config.template': val(template!),
    }),
  ),
  obj('Datastore', 'ds-1', {
    name: val('a'),
    parent: ref('Folder', 'df-1'),
    'summary.accessible': val('true'),
  }),
  obj('Datastore', 'ds-2', {
    name: val('b'),
    parent: ref('Folder', 'df-1'),
    'summary.accessible': val('false'),
  }),
  obj('Datastore', 'ds-3', { name: val('c'), parent: ref('Folder', 'df-1') }),
];

test('datacenter: clusters, hosts, VMs and datastores counted from the model alone', async () => {
  const text = await collectText(datacenterCollector, model(OBJECTS));
  const dc0 = 'datacenter="DC0",datacenter_moid="dc-1"';
  assert.deepEqual(
    samples(text, 'vsphere_datacenter_').filter((l) => l.includes('dc-1')),
    [
      `vsphere_datacenter_clusters{${dc0}} 2`,
      `vsphere_datacenter_datastores_by_accessibility{${dc0},accessible="false"} 1`,
      `vsphere_datacenter_datastores_by_accessibility{${dc0},accessible="true"} 1`,
      `vsphere_datacenter_hosts_by_connection_state{${dc0},state="connected"} 2`,
      `vsphere_datacenter_hosts_by_connection_state{${dc0},state="disconnected"} 0`,
      `vsphere_datacenter_hosts_by_connection_state{${dc0},state="notResponding"} 1`,
      `vsphere_datacenter_info{${dc0},path="/dcs/DC0"} 1`,
      `vsphere_datacenter_vms_by_power_state{${dc0},state="poweredOff"} 0`,
      `vsphere_datacenter_vms_by_power_state{${dc0},state="poweredOn"} 1`,
      `vsphere_datacenter_vms_by_power_state{${dc0},state="suspended"} 1`,
    ],
  );
  const dc1 = 'datacenter="DC1",datacenter_moid="dc-2"';
  assert.deepEqual(
    samples(text, 'vsphere_datacenter_').filter((l) => l.includes('dc-2')),
    [
      `vsphere_datacenter_clusters{${dc1}} 0`,
      `vsphere_datacenter_datastores_by_accessibility{${dc1},accessible="false"} 0`,
      `vsphere_datacenter_datastores_by_accessibility{${dc1},accessible="true"} 0`,
      `vsphere_datacenter_hosts_by_connection_state{${dc1},state="connected"} 0`,
      `vsphere_datacenter_hosts_by_connection_state{${dc1},state="disconnected"} 0`,
      `vsphere_datacenter_hosts_by_connection_state{${dc1},state="notResponding"} 0`,
      `vsphere_datacenter_info{${dc1},path="/DC1"} 1`,
      `vsphere_datacenter_vms_by_power_state{${dc1},state="poweredOff"} 0`,
      `vsphere_datacenter_vms_by_power_state{${dc1},state="poweredOn"} 0`,
      `vsphere_datacenter_vms_by_power_state{${dc1},state="suspended"} 0`,
    ],
  );
});

test('datacenter: the filter sees name and path; a datacenter whose path is unknown is still named', async () => {
  // dc-3's parent folder was never read: no path, but a name to filter and label by.
  const objects = [
    ...OBJECTS,
    obj('Datacenter', 'dc-3', { name: val('DC2'), parent: ref('Folder', 'gone') }),
  ];
  const seen: unknown[] = [];
  const text = await collectText(datacenterCollector, model(objects), {
    filter: {
      allows: (kind, s) => {
        seen.push([kind, s]);
        return s.name !== 'DC1';
      },
    },
  });
  assert.deepEqual(seen, [
    ['datacenter', { name: 'DC0', path: '/dcs/DC0' }],
    ['datacenter', { name: 'DC1', path: '/DC1' }],
    ['datacenter', { name: 'DC2' }],
  ]);
  assert.doesNotMatch(text, /dc-2/);
  assert.match(text, /vsphere_datacenter_info\{datacenter="DC2",datacenter_moid="dc-3",path=""\} 1/);
});
