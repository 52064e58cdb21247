import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_SPECS,
  inventoryFilterSpec,
  inventorySpecs,
  singletonRefs,
} from '../../../src/vsphere/inventory-specs.js';
import { HOST_PATHS, VM_PATHS } from '../../../src/vsphere/inventory-records.js';
import type { ServiceContent } from '../../../src/vsphere/service-content.js';
import { buildInventory } from '../../../src/vsphere/inventory.js';
import type { ObjectContent } from '../../../src/vsphere/property-collector.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';

const byType = (
  specs:
    { type: string; pathSet: readonly string[] }[] | readonly { type: string; pathSet: readonly string[] }[],
) => new Map(specs.map((s) => [s.type, [...s.pathSet].sort()]));

test('inventorySpecs: the base alone reads VMs, hosts and the parent containers', () => {
  const s = inventorySpecs();
  assert.deepEqual(byType(s.propSets), byType(BASE_SPECS));
  assert.deepEqual([...s.viewTypes].sort(), [
    'ClusterComputeResource',
    'ComputeResource',
    'Datacenter',
    'Folder',
    'HostSystem',
    'VirtualApp',
    'VirtualMachine',
  ]);
  assert.deepEqual(s.singletonTypes, []);
});

test('inventorySpecs: one propSet per type, path sets united with the base and between collectors', () => {
  const s = inventorySpecs([
    { type: 'ClusterComputeResource', pathSet: ['summary', 'name'] },
    { type: 'Datastore', pathSet: ['summary.capacity', 'parent'] },
    { type: 'Datastore', pathSet: ['summary.capacity', 'overallStatus'] },
    { type: 'HostSystem', pathSet: ['triggeredAlarmState', 'name'] },
  ]);
  const m = byType(s.propSets);
  assert.equal(s.propSets.length, m.size, 'no type listed twice');
  assert.deepEqual(m.get('ClusterComputeResource'), ['name', 'parent', 'summary']);
  assert.deepEqual(m.get('Datastore'), ['overallStatus', 'parent', 'summary.capacity']);
  assert.deepEqual(m.get('HostSystem'), [...new Set([...HOST_PATHS, 'triggeredAlarmState'])].sort());
  assert.deepEqual(m.get('VirtualMachine'), [...VM_PATHS].sort());
  assert.ok(s.viewTypes.includes('Datastore'));
});

test('inventorySpecs: a ManagedEntity spec adds its paths to every concrete type and is no view type itself', () => {
  const s = inventorySpecs([
    { type: 'ResourcePool', pathSet: ['name'] },
    { type: 'ManagedEntity', pathSet: ['customValue'] },
  ]);
  assert.ok(!s.viewTypes.includes('ManagedEntity'));
  assert.ok(!s.propSets.some((p) => p.type === 'ManagedEntity'));
  for (const t of s.viewTypes) {
    assert.ok(byType(s.propSets).get(t)?.includes('customValue'), t);
  }
  assert.ok(s.viewTypes.includes('ResourcePool') && s.viewTypes.includes('VirtualMachine'));
});

test('inventorySpecs: a ServiceContent singleton is selected by its own ObjectSpec, not through the view', () => {
  const s = inventorySpecs([{ type: 'CustomFieldsManager', pathSet: ['field'] }]);
  assert.deepEqual(s.singletonTypes, ['CustomFieldsManager']);
  assert.ok(!s.viewTypes.includes('CustomFieldsManager'));
  assert.deepEqual(byType(s.propSets).get('CustomFieldsManager'), ['field']);
  const content = { customFieldsManager: { type: 'CustomFieldsManager', value: 'CustomFieldsManager' } };
  const refs = singletonRefs(s, content as ServiceContent);
  assert.deepEqual(refs, [{ type: 'CustomFieldsManager', value: 'CustomFieldsManager' }]);
  // An endpoint without one (ESXi may lack it) gets no ObjectSpec for it.
  assert.deepEqual(singletonRefs(s, {} as ServiceContent), []);
  const xml = inventoryFilterSpec({ type: 'ContainerView', value: 'session[1]view-9' }, s, refs);
  const spec = parseXml(`<spec xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${xml}</spec>`);
  const objectSets = spec.children.filter((c) => c.name === 'objectSet');
  assert.equal(objectSets.length, 2);
  assert.equal(objectSets[0]!.children.find((c) => c.name === 'obj')?.text, 'session[1]view-9');
  assert.equal(objectSets[1]!.children.find((c) => c.name === 'obj')?.attrs.type, 'CustomFieldsManager');
  assert.equal(objectSets[1]!.children.find((c) => c.name === 'skip')?.text, 'false');
  assert.equal(spec.children.filter((c) => c.name === 'propSet').length, s.propSets.length);
});

const obj = (type: string, value: string, props: Record<string, string>): ObjectContent => ({
  obj: { type, value },
  props: new Map(Object.entries(props).map(([k, xml]) => [k, parseXml(xml)])),
});
const ref = (type: string, v: string): string => `<val type="${type}">${v}</val>`;
const val = (v: string): string => `<val>${v}</val>`;

test('records: requested paths without a decoder are kept for VMs and hosts, singletons land in singleton(), paths start at the root folder', () => {
  const custom = '<val><CustomFieldValue><key>101</key><value>gold</value></CustomFieldValue></val>';
  const inv = buildInventory(
    [
      obj('Datacenter', 'datacenter-2', { name: val('DC0'), parent: ref('Folder', 'group-d1') }),
      obj('Folder', 'group-v3', { name: val('vm'), parent: ref('Datacenter', 'datacenter-2') }),
      obj('Datastore', 'datastore-5', {
        name: val('ds1'),
        parent: ref('Folder', 'group-s4'),
        'summary.capacity': val('1024'),
      }),
      obj('VirtualMachine', 'vm-1', {
        name: val('web'),
        parent: ref('Folder', 'group-v3'),
        customValue: custom,
      }),
      obj('VirtualMachine', 'vm-2', { name: val('db'), parent: ref('Folder', 'group-v3') }),
      obj('HostSystem', 'host-1', { name: val('esx'), overallStatus: val('green'), customValue: custom }),
      obj('CustomFieldsManager', 'CustomFieldsManager', {
        field: '<val><CustomFieldDef><key>101</key><name>tier</name></CustomFieldDef></val>',
      }),
    ],
    { rootFolder: 'group-d1' },
  );
  assert.equal(inv.vms[0]!.extra?.get('customValue')?.children[0]?.children[1]?.text, 'gold');
  assert.equal(inv.vms[1]!.extra, undefined, 'no map for a VM without extra properties');
  assert.equal(inv.hosts[0]!.extra?.get('overallStatus')?.text, 'green');
  const vmObjects = inv.objects('VirtualMachine');
  assert.deepEqual(
    vmObjects.map((o) => [o.obj.value, [...o.props.keys()]]),
    [
      ['vm-1', ['customValue']],
      ['vm-2', []],
    ],
  );
  assert.equal(inv.objects('VirtualMachine'), vmObjects, 'built once per snapshot');
  assert.deepEqual([...inv.objects('HostSystem')[0]!.props.keys()].sort(), ['customValue', 'overallStatus']);
  assert.equal(inv.objects('Datastore')[0]!.props.get('summary.capacity')?.text, '1024');
  assert.equal(inv.singleton('CustomFieldsManager')?.get('field')?.children.length, 1);
  assert.equal(inv.tree.get('CustomFieldsManager'), undefined, 'a singleton is no entity of the tree');
  assert.deepEqual(inv.objects('CustomFieldsManager'), []);
  assert.equal(inv.path('vm-1'), '/DC0/vm/web');
  assert.equal(inv.path('datacenter-2'), '/DC0');
});
