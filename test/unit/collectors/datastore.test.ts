import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DATASTORE_PROPERTIES,
  datastoreCollector,
  readDatastores,
} from '../../../src/collectors/datastore.js';
import type { ObjectFilter } from '../../../src/collectors/collector.js';
import {
  collectSamples,
  contextOf,
  inventoryOf,
  obj as object,
  ref,
  val as value,
} from '../../harness/model-fixture.js';
import { find, type Sample } from '../../harness/prom-text.js';

const X = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const obj = (type: string, moid: string, props: Record<string, string>) =>
  object(type, moid, Object.entries(props));
const val = (v: string): string => value(v);
const mounts = (...hosts: string[]): string =>
  `<val ${X} xsi:type="ArrayOfDatastoreHostMount">` +
  hosts
    .map(
      (h) =>
        `<DatastoreHostMount xsi:type="DatastoreHostMount"><key type="HostSystem">${h}</key>` +
        '<mountInfo><path>/vmfs/volumes/x</path><accessMode>readWrite</accessMode></mountInfo></DatastoreHostMount>',
    )
    .join('') +
  '</val>';
const vms = (...ids: string[]): string =>
  `<val ${X} xsi:type="ArrayOfManagedObjectReference">` +
  ids
    .map(
      (v) =>
        `<ManagedObjectReference type="VirtualMachine" xsi:type="ManagedObjectReference">${v}</ManagedObjectReference>`,
    )
    .join('') +
  '</val>';

const GiB = 1024 ** 3;
// Root folder group-d1 > DC "west" > datastore folder > "tier1" folder > pod "gold" > ds-a, ds-b; ds-c at the top.
const OBJECTS = [
  obj('Datacenter', 'datacenter-2', { name: val('west'), parent: ref('Folder', 'group-d1') }),
  obj('Folder', 'group-s5', { name: val('datastore'), parent: ref('Datacenter', 'datacenter-2') }),
  obj('Folder', 'group-s9', { name: val('tier1'), parent: ref('Folder', 'group-s5') }),
  obj('StoragePod', 'group-p1', { name: val('gold'), parent: ref('Folder', 'group-s9') }),
  obj('Datastore', 'datastore-1', {
    name: val('ds-a'),
    parent: ref('StoragePod', 'group-p1'),
    'summary.capacity': val(String(100 * GiB)),
    'summary.freeSpace': val(String(40 * GiB)),
    'summary.uncommitted': val(String(25 * GiB)),
    'summary.accessible': val('true'),
    'summary.maintenanceMode': val('enteringMaintenance'),
    'summary.type': val('VMFS'),
    'summary.url': val('ds:///vmfs/volumes/a/'),
    host: mounts('host-1', 'host-2', 'host-3'),
    vm: vms('vm-1', 'vm-2'),
  }),
  obj('Datastore', 'datastore-2', {
    name: val('ds-b'),
    parent: ref('StoragePod', 'group-p1'),
    'summary.capacity': val(String(50 * GiB)),
    'summary.freeSpace': val(String(10 * GiB)),
    'summary.accessible': val('false'),
    'summary.type': val('NFS'),
  }),
  obj('Datastore', 'datastore-3', {
    name: val('ds-c'),
    parent: ref('Folder', 'group-s5'),
    'summary.capacity': val('garbage'),
    'summary.freeSpace': val(String(GiB)),
  }),
  // Listed twice by a misbehaving server: still one set of series.
  obj('Datastore', 'datastore-3', { name: val('ds-c'), parent: ref('Folder', 'group-s5') }),
];

const INVENTORY = inventoryOf(OBJECTS);
const scrape = (filter: ObjectFilter): Promise<Sample[]> =>
  collectSamples(datastoreCollector, contextOf(INVENTORY, filter));
const one = (samples: Sample[], name: string, labels: Record<string, string>): number | undefined => {
  const hits = find(samples, name, labels);
  assert.ok(hits.length <= 1, `${name}${JSON.stringify(labels)} repeated`);
  return hits[0]?.value;
};

test('readDatastores: paths through folders and the pod, datacenter, pod membership, counts', () => {
  const { datastores, pods } = readDatastores(INVENTORY);
  assert.deepEqual(pods, [
    { moid: 'group-p1', name: 'gold', path: '/west/datastore/tier1/gold', datacenter: 'west' },
  ]);
  assert.equal(datastores.length, 3);
  const [a, b, c] = datastores;
  assert.equal(a?.path, '/west/datastore/tier1/gold/ds-a');
  assert.equal(a?.podMoid, 'group-p1');
  assert.equal(a?.datacenter, 'west');
  assert.equal(a?.hosts, 3);
  assert.equal(a?.vms, 2);
  // vCenter leaves empty arrays out: no mounts listed means none.
  assert.equal(b?.hosts, 0);
  assert.equal(b?.vms, 0);
  assert.equal(c?.podMoid, undefined);
  assert.equal(c?.capacity, undefined);
  assert.equal(c?.path, '/west/datastore/ds-c');
});

test('datastore families: values in bytes, provisioned = capacity − free + uncommitted, absent values skipped', async () => {
  const s = await scrape({ allows: () => true });
  const a = { datastore: 'ds-a', datastore_moid: 'datastore-1' };
  const b = { datastore: 'ds-b', datastore_moid: 'datastore-2' };
  const c = { datastore: 'ds-c', datastore_moid: 'datastore-3' };
  assert.equal(one(s, 'vsphere_datastore_capacity_bytes', a), 100 * GiB);
  assert.equal(one(s, 'vsphere_datastore_free_bytes', a), 40 * GiB);
  assert.equal(one(s, 'vsphere_datastore_uncommitted_bytes', a), 25 * GiB);
  assert.equal(one(s, 'vsphere_datastore_provisioned_bytes', a), 85 * GiB);
  assert.equal(one(s, 'vsphere_datastore_accessible', a), 1);
  assert.equal(one(s, 'vsphere_datastore_maintenance_mode', { ...a, state: 'enteringMaintenance' }), 1);
  assert.equal(one(s, 'vsphere_datastore_maintenance_mode', { ...a, state: 'normal' }), 0);
  assert.equal(one(s, 'vsphere_datastore_hosts', a), 3);
  assert.equal(one(s, 'vsphere_datastore_vms', a), 2);
  assert.deepEqual(find(s, 'vsphere_datastore_info', a)[0]?.labels, {
    ...a,
    type: 'VMFS',
    url: 'ds:///vmfs/volumes/a/',
    datastore_cluster: 'gold',
    datacenter: 'west',
  });
  // No uncommitted: neither it nor provisioned; no maintenanceMode: no state series.
  assert.equal(one(s, 'vsphere_datastore_uncommitted_bytes', b), undefined);
  assert.equal(one(s, 'vsphere_datastore_provisioned_bytes', b), undefined);
  assert.equal(find(s, 'vsphere_datastore_maintenance_mode', b).length, 0);
  assert.equal(one(s, 'vsphere_datastore_accessible', b), 0);
  // A malformed capacity is skipped, not exported as NaN or 0; the duplicate object adds nothing.
  assert.equal(one(s, 'vsphere_datastore_capacity_bytes', c), undefined);
  assert.equal(one(s, 'vsphere_datastore_free_bytes', c), GiB);
  assert.equal(find(s, 'vsphere_datastore_info', c)[0]?.labels.datastore_cluster, '');
  assert.equal(find(s, 'vsphere_datastore_info').length, 3);
  const pod = { datastore_cluster: 'gold', datastore_cluster_moid: 'group-p1' };
  assert.equal(one(s, 'vsphere_datastore_cluster_info', { ...pod, datacenter: 'west' }), 1);
  assert.equal(one(s, 'vsphere_datastore_cluster_capacity_bytes', pod), 150 * GiB);
  assert.equal(one(s, 'vsphere_datastore_cluster_free_bytes', pod), 50 * GiB);
});

test('the filter removes every series of an excluded datastore or pod; pod totals still count all members', async () => {
  const asked: string[] = [];
  const s = await scrape({
    allows: (kind, subj) => {
      asked.push(`${kind} ${subj.path ?? '-'}`);
      return subj.name !== 'ds-b';
    },
  });
  assert.deepEqual(asked.sort(), [
    'datastore /west/datastore/ds-c',
    'datastore /west/datastore/tier1/gold',
    'datastore /west/datastore/tier1/gold/ds-a',
    'datastore /west/datastore/tier1/gold/ds-b',
  ]);
  assert.equal(s.filter((x) => x.labels.datastore_moid === 'datastore-2').length, 0);
  assert.ok(s.some((x) => x.labels.datastore_moid === 'datastore-1'));
  assert.equal(
    one(s, 'vsphere_datastore_cluster_capacity_bytes', { datastore_cluster_moid: 'group-p1' }),
    150 * GiB,
  );
  const noPod = await scrape({ allows: (_k, subj) => subj.name !== 'gold' });
  assert.equal(find(noPod, 'vsphere_datastore_cluster_info').length, 0);
  assert.equal(find(noPod, 'vsphere_datastore_cluster_capacity_bytes').length, 0);
  assert.equal(find(noPod, 'vsphere_datastore_info').length, 3);
});

test('the collector declares what it reads: every datastore property used, pods and the containers of their paths', () => {
  const paths = new Map(DATASTORE_PROPERTIES.map((s) => [s.type, new Set(s.pathSet)]));
  assert.deepEqual([...paths.keys()].sort(), ['Datacenter', 'Datastore', 'Folder', 'StoragePod']);
  for (const o of OBJECTS.filter((x) => x.obj.type === 'Datastore'))
    for (const p of o.props.keys()) assert.ok(paths.get('Datastore')?.has(p), p);
  for (const type of ['StoragePod', 'Folder', 'Datacenter'])
    assert.deepEqual([...(paths.get(type) ?? [])].sort(), ['name', 'parent']);
});
