import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntityTree } from '../../../src/vsphere/entity-tree.js';
import type { ObjectContent } from '../../../src/vsphere/property-collector.js';
import { parseXml, type XmlNode } from '../../../src/vsphere/soap/xml.js';

const obj = (type: string, value: string, name?: string, parent?: [string, string]): ObjectContent => {
  const props = new Map<string, XmlNode>();
  if (name !== undefined) props.set('name', parseXml(`<val>${name}</val>`));
  if (parent) props.set('parent', parseXml(`<val type="${parent[0]}">${parent[1]}</val>`));
  return { obj: { type, value }, props };
};

// Root folder group-d1 is not listed, as in a ContainerView over it.
const OBJECTS = [
  obj('Folder', 'group-f1', 'emea', ['Folder', 'group-d1']),
  obj('Datacenter', 'datacenter-2', 'DC &amp; West', ['Folder', 'group-f1']),
  obj('Folder', 'group-h4', 'host', ['Datacenter', 'datacenter-2']),
  obj('Folder', 'group-h9', 'prod', ['Folder', 'group-h4']),
  obj('ClusterComputeResource', 'domain-c7', 'C0', ['Folder', 'group-h9']),
  obj('ResourcePool', 'resgroup-8', 'Resources', ['ClusterComputeResource', 'domain-c7']),
  obj('ResourcePool', 'resgroup-9', 'a/b', ['ResourcePool', 'resgroup-8']),
  obj('Datacenter', 'datacenter-3', 'DC1', ['Folder', 'group-d1']),
  obj('Folder', 'group-h5', 'host', ['Datacenter', 'datacenter-3']),
  obj('ClusterComputeResource', 'domain-c10', 'C0', ['Folder', 'group-h5']),
];

test('datacenterOf walks nested folders up to the datacenter, by moid', () => {
  const tree = EntityTree.fromObjects(OBJECTS, 'group-d1');
  assert.equal(tree.datacenterOf('resgroup-9')?.moid, 'datacenter-2');
  assert.equal(tree.datacenterOf('domain-c7')?.name, 'DC & West');
  // Two clusters of one name in two datacenters stay apart.
  assert.equal(tree.datacenterOf('domain-c10')?.moid, 'datacenter-3');
  assert.equal(tree.datacenterOf('datacenter-3')?.moid, 'datacenter-3');
  assert.equal(tree.datacenterOf('group-f1'), undefined);
  assert.equal(tree.datacenterOf(undefined), undefined);
  assert.equal(tree.ancestor('resgroup-9', ['ClusterComputeResource'])?.moid, 'domain-c7');
});

test('path: names below the root folder, "/" in a name escaped', () => {
  const tree = EntityTree.fromObjects(OBJECTS, 'group-d1');
  assert.equal(tree.path('datacenter-2'), '/emea/DC & West');
  assert.equal(tree.path('domain-c7'), '/emea/DC & West/host/prod/C0');
  assert.equal(tree.path('resgroup-9'), '/emea/DC & West/host/prod/C0/Resources/a%2fb');
  assert.equal(tree.path('domain-c10'), '/DC1/host/C0');
  assert.equal(tree.path('nope'), undefined);
});

test('path is undefined when a link or name is missing; root folder listed or not', () => {
  const broken = EntityTree.fromObjects([
    obj('Folder', 'group-h4', 'host', ['Datacenter', 'datacenter-9']),
    obj('ClusterComputeResource', 'domain-c7', 'C0', ['Folder', 'group-h4']),
    obj('Datacenter', 'datacenter-2', undefined, ['Folder', 'group-d1']),
    obj('Folder', 'group-x', 'x', ['Datacenter', 'datacenter-2']),
  ]);
  assert.equal(broken.path('domain-c7'), undefined, 'unknown datacenter-9');
  assert.equal(broken.path('group-x'), undefined, 'nameless datacenter');
  // Without the root's moid, a listed root folder (no parent) ends the walk.
  const listed = EntityTree.fromObjects([
    obj('Folder', 'group-d1', 'Datacenters'),
    obj('Datacenter', 'datacenter-2', 'DC0', ['Folder', 'group-d1']),
  ]);
  assert.equal(listed.path('datacenter-2'), '/DC0');
  assert.equal(listed.path('group-d1'), undefined);
});

test('a parent cycle ends the walk instead of looping; duplicates keep the first listing', () => {
  const tree = EntityTree.fromObjects(
    [
      obj('Folder', 'a', 'a', ['Folder', 'b']),
      obj('Folder', 'b', 'b', ['Folder', 'a']),
      obj('Datacenter', 'dc', 'DC0', ['Folder', 'root']),
      obj('Datacenter', 'dc', 'other', ['Folder', 'root']),
    ],
    'root',
  );
  assert.equal(tree.datacenterOf('a'), undefined);
  assert.equal(tree.path('a'), undefined);
  assert.equal(tree.get('dc')?.name, 'DC0');
});
