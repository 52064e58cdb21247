import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeVsanConfig, vsanCollector } from '../../../src/collectors/vsan.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import { collectText, model, obj, ref, samples, val } from './model-fixture.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
// configurationEx as vCenter sends it: a ClusterConfigInfoEx, vsanConfigInfo among its fields.
const configEx = (vsan: string): string =>
  `<val ${XSI} xsi:type="ClusterConfigInfoEx"><vmSwapPlacement>vmDirectory</vmSwapPlacement>` +
  `<drsConfig><enabled>true</enabled></drsConfig>${vsan}</val>`;
const VSAN_ON =
  '<vsanConfigInfo><enabled>true</enabled><defaultConfig><uuid>52a1-c0</uuid>' +
  '<autoClaimStorage>false</autoClaimStorage><checksumEnabled>true</checksumEnabled></defaultConfig></vsanConfigInfo>';
const dsList = (...moids: string[]): string =>
  `<val ${XSI} xsi:type="ArrayOfManagedObjectReference">${moids
    .map((m) => `<ManagedObjectReference type="Datastore">${m}</ManagedObjectReference>`)
    .join('')}</val>`;

const OBJECTS = [
  obj('Datacenter', 'dc-1', { name: val('DC0'), parent: ref('Folder', 'root') }),
  obj('Folder', 'hf-1', { name: val('host'), parent: ref('Datacenter', 'dc-1') }),
  obj('Folder', 'df-1', { name: val('datastore'), parent: ref('Datacenter', 'dc-1') }),
  obj('ClusterComputeResource', 'c-1', {
    name: val('C0'),
    parent: ref('Folder', 'hf-1'),
    configurationEx: configEx(VSAN_ON),
    datastore: dsList('ds-local', 'ds-vsan'),
  }),
  // vCenter's answer for a cluster without vSAN: vsanConfigInfo with enabled false.
  obj('ClusterComputeResource', 'c-2', {
    name: val('C1'),
    parent: ref('Folder', 'hf-1'),
    configurationEx: configEx('<vsanConfigInfo><enabled>false</enabled></vsanConfigInfo>'),
    datastore: dsList('ds-local'),
  }),
  // vcsim's answer before vSAN is configured: no vsanConfigInfo at all.
  obj('ClusterComputeResource', 'c-3', {
    name: val('C2'),
    parent: ref('Folder', 'hf-1'),
    configurationEx: configEx(''),
  }),
  // configurationEx not read (no privilege): nothing said about vSAN.
  obj('ClusterComputeResource', 'c-4', { name: val('C3'), parent: ref('Folder', 'hf-1') }),
  obj('Datastore', 'ds-local', {
    name: val('LocalDS'),
    parent: ref('Folder', 'df-1'),
    'summary.type': val('VMFS'),
    'summary.capacity': val('100'),
    'summary.freeSpace': val('50'),
  }),
  obj('Datastore', 'ds-vsan', {
    name: val('vsanDatastore'),
    parent: ref('Folder', 'df-1'),
    'summary.type': val('vsan'),
    'summary.capacity': val('3298534883328'),
    'summary.freeSpace': val('1099511627776'),
  }),
];

test('vSAN switch, configuration and the vSAN datastores of each cluster, from the model alone', async () => {
  const text = await collectText(vsanCollector, model(OBJECTS));
  assert.deepEqual(samples(text, 'vsphere_cluster_vsan_enabled'), [
    'vsphere_cluster_vsan_enabled{cluster="C0",cluster_moid="c-1"} 1',
    'vsphere_cluster_vsan_enabled{cluster="C1",cluster_moid="c-2"} 0',
    'vsphere_cluster_vsan_enabled{cluster="C2",cluster_moid="c-3"} 0',
  ]);
  assert.deepEqual(samples(text, 'vsphere_cluster_vsan_info'), [
    'vsphere_cluster_vsan_info{cluster="C0",cluster_moid="c-1",vsan_cluster_uuid="52a1-c0"} 1',
  ]);
  assert.deepEqual(samples(text, 'vsphere_cluster_vsan_auto_claim_storage'), [
    'vsphere_cluster_vsan_auto_claim_storage{cluster="C0",cluster_moid="c-1"} 0',
  ]);
  assert.deepEqual(samples(text, 'vsphere_cluster_vsan_checksum_enabled'), [
    'vsphere_cluster_vsan_checksum_enabled{cluster="C0",cluster_moid="c-1"} 1',
  ]);
  // Only the vSAN datastore, under the cluster that mounts it.
  assert.deepEqual(samples(text, 'vsphere_cluster_vsan_datastore_'), [
    'vsphere_cluster_vsan_datastore_capacity_bytes{cluster="C0",cluster_moid="c-1",datastore="vsanDatastore",datastore_moid="ds-vsan"} 3298534883328',
    'vsphere_cluster_vsan_datastore_free_bytes{cluster="C0",cluster_moid="c-1",datastore="vsanDatastore",datastore_moid="ds-vsan"} 1099511627776',
  ]);
});

test('the cluster filter applies; odd values are skipped, not fatal', async () => {
  const filtered = await collectText(vsanCollector, model(OBJECTS), {
    filter: { allows: (_k, s) => s.name !== 'C0' },
  });
  assert.equal(samples(filtered, 'vsphere_cluster_vsan_datastore_').length, 0);
  assert.ok(!filtered.includes('"C0"'));
  const odd = await collectText(
    vsanCollector,
    model([
      obj('ClusterComputeResource', 'c-9', {
        name: val('__proto__'),
        parent: ref('Folder', 'root'),
        configurationEx: configEx(
          '<vsanConfigInfo><enabled>maybe</enabled><defaultConfig><uuid> </uuid></defaultConfig></vsanConfigInfo>',
        ),
        datastore: dsList('ds-gone'),
      }),
    ]),
  );
  assert.deepEqual(samples(odd, 'vsphere_cluster_vsan_'), [], 'an unreadable switch is not read as "off"');
});

test('decodeVsanConfig: absent configurationEx says nothing; absent vsanConfigInfo is "not enabled"', () => {
  assert.equal(decodeVsanConfig(undefined), undefined);
  assert.deepEqual(decodeVsanConfig(parseXml(configEx(''))), {
    enabled: false,
    autoClaimStorage: undefined,
    checksumEnabled: undefined,
  });
});
