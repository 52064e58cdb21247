/**
 * VMs inside vApps: vCenter leaves their `parent` unset and names the vApp in `parentVApp`. Their
 * paths go through the vApp's folder, as the VMs and Templates view lists them, so path filters
 * written for that tree apply to them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, filterInventory } from '../../../src/collectors/filter.js';
import type { FiltersSpec } from '../../../src/model/filters.js';
import { inventoryOf, obj, ref, val } from '../../harness/model-fixture.js';

const INVENTORY = inventoryOf([
  obj('Datacenter', 'dc1', [
    ['name', val('DC1')],
    ['parent', ref('Folder', 'group-d1')],
  ]),
  obj('Folder', 'vmf', [
    ['name', val('vm')],
    ['parent', ref('Datacenter', 'dc1')],
  ]),
  obj('Folder', 'hr', [
    ['name', val('hr')],
    ['parent', ref('Folder', 'vmf')],
  ]),
  obj('Folder', 'hostf', [
    ['name', val('host')],
    ['parent', ref('Datacenter', 'dc1')],
  ]),
  obj('ClusterComputeResource', 'c1', [
    ['name', val('C1')],
    ['parent', ref('Folder', 'hostf')],
  ]),
  obj('ResourcePool', 'rp', [
    ['name', val('Resources')],
    ['parent', ref('ClusterComputeResource', 'c1')],
  ]),
  // A vApp's parent is a resource pool; its place in the VMs and Templates tree is parentFolder.
  obj('VirtualApp', 'vapp1', [
    ['name', val('payroll')],
    ['parent', ref('ResourcePool', 'rp')],
    ['parentFolder', ref('Folder', 'hr')],
  ]),
  obj('VirtualApp', 'vapp2', [
    ['name', val('reports')],
    ['parent', ref('VirtualApp', 'vapp1')],
    ['parentVApp', ref('VirtualApp', 'vapp1')],
  ]),
  obj('VirtualMachine', 'vm-1', [
    ['name', val('hr-plain')],
    ['parent', ref('Folder', 'hr')],
  ]),
  obj('VirtualMachine', 'vm-2', [
    ['name', val('payroll-db')],
    ['parentVApp', ref('VirtualApp', 'vapp1')],
  ]),
  obj('VirtualMachine', 'vm-3', [
    ['name', val('reports-web')],
    ['parentVApp', ref('VirtualApp', 'vapp2')],
  ]),
]);

const kept = (filters: FiltersSpec): string[] =>
  filterInventory(INVENTORY, compileFilter(filters))
    .vms.map((v) => v.name)
    .sort();

test('a VM inside a vApp has the path of the VMs and Templates tree: folder, vApp (nested ones too), VM', () => {
  assert.equal(INVENTORY.path('vm-1'), '/DC1/vm/hr/hr-plain');
  assert.equal(INVENTORY.path('vm-2'), '/DC1/vm/hr/payroll/payroll-db');
  assert.equal(INVENTORY.path('vm-3'), '/DC1/vm/hr/payroll/reports/reports-web');
  // The vApp itself keeps its resource pool path (vsphere_resource_pool_info, resource_pool filters).
  assert.equal(INVENTORY.path('vapp1'), '/DC1/host/C1/Resources/payroll');
  assert.equal(INVENTORY.tree.datacenterOf('vm-3')?.name, 'DC1');
  // Through the folders, which every inventory reads, not the vApp's resource pool (read only by the
  // resource_pool collector): the cluster above it is not on that way.
  assert.equal(INVENTORY.tree.ancestor('vm-2', ['ClusterComputeResource']), undefined);
  assert.equal(INVENTORY.tree.ancestor('vm-2', ['Folder'])?.name, 'hr');
});

test('path filters apply to VMs inside vApps: exclude.paths hides them, include.paths keeps them', () => {
  assert.deepEqual(kept({ vm: { exclude: { paths: ['/DC1/vm/hr/**'] } } }), []);
  assert.deepEqual(kept({ vm: { exclude: { paths: ['/DC1/vm/hr/payroll/reports/**'] } } }), [
    'hr-plain',
    'payroll-db',
  ]);
  assert.deepEqual(kept({ vm: { include: { paths: ['/DC1/vm/**'] } } }), [
    'hr-plain',
    'payroll-db',
    'reports-web',
  ]);
});
