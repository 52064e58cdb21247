import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CollectContext, FilterSubject } from '../../../src/collectors/collector.js';
import type { CollectorName } from '../../../src/model/names.js';
import { alarmCollector } from '../../../src/collectors/alarm.js';
import { COLLECTORS } from '../../../src/collectors/registry.js';
import {
  customAttributeFamily,
  decodeCustomValues,
  decodeFieldDefs,
  readEntities,
  readFieldNames,
  type EntityValues,
} from '../../../src/collectors/custom-attribute.js';
import { compileFilter } from '../../../src/collectors/filter.js';
import type { FiltersSpec } from '../../../src/model/filters.js';
import { datastoreCollector } from '../../../src/collectors/datastore.js';
import { MANAGED_ENTITY_TYPES } from '../../../src/collectors/entity-types.js';
import { kindOfType } from '../../../src/collectors/object-kind.js';
import { createTagCollector, tagInfoFamily } from '../../../src/collectors/tag.js';
import type { MetricFamily } from '../../../src/exposition/index.js';
import type { AttachedObject } from '../../../src/vsphere/tag-data.js';
import type { Inventory } from '../../../src/vsphere/inventory.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import {
  collectSamples,
  contextOf,
  inventoryOf,
  obj,
  ref,
  singleton,
  val,
} from '../../harness/model-fixture.js';
import { find } from '../../harness/prom-text.js';

/** A context whose filter rejects the names in `deny` and records what it was asked. */
function fakeCtx(deny: string[] = []): { ctx: CollectContext; asked: [CollectorName, string][] } {
  const asked: [CollectorName, string][] = [];
  const inventory = {
    vms: [{ moid: 'vm-1', name: 'web01', template: false }],
    hosts: [],
    hostsByMoid: new Map([['host-9', { moid: 'host-9', name: 'esx09' }]]),
    placement: () => ({ cluster: '', datacenter: '' }),
  } as unknown as Inventory;
  const filter = {
    allows(kind: CollectorName, s: FilterSubject) {
      asked.push([kind, s.name]);
      return !deny.includes(s.name);
    },
  };
  return { ctx: { inventory, filter } as unknown as CollectContext, asked };
}

test('kindOfType maps the filterable vim25 types and nothing else', () => {
  assert.equal(kindOfType('VirtualMachine'), 'vm');
  assert.equal(kindOfType('HostSystem'), 'host');
  assert.equal(kindOfType('ClusterComputeResource'), 'cluster');
  assert.equal(kindOfType('Datastore'), 'datastore');
  assert.equal(kindOfType('ResourcePool'), 'resource_pool');
  assert.equal(kindOfType('Datacenter'), 'datacenter');
  // Datastore clusters and vApps are the datastore and resource_pool collectors' objects.
  assert.equal(kindOfType('StoragePod'), 'datastore');
  assert.equal(kindOfType('VirtualApp'), 'resource_pool');
  assert.equal(kindOfType('Folder'), undefined);
  for (const t of ['toString', 'constructor', '__proto__', 'hasOwnProperty'])
    assert.equal(kindOfType(t), undefined, t);
});

test('tagInfoFamily: one series per attachment, deduplicated, filtered by name, unknown tags skipped', () => {
  const { ctx, asked } = fakeCtx(['esx09', 'ds "x"']);
  const names = new Map([
    ['ds-3', { name: 'ds "x"' }],
    ['domain-c7', { name: 'prod-cluster' }],
  ]);
  const tags = new Map([['t1', { tag: 'say "hi"\n', category: 'env\\x' }]]);
  const fam = tagInfoFamily(
    ctx,
    [
      {
        tagId: 't1',
        objects: [
          { type: 'VirtualMachine', moid: 'vm-1' },
          { type: 'VirtualMachine', moid: 'vm-1' },
          { type: 'HostSystem', moid: 'host-9' },
          { type: 'Datastore', moid: 'ds-3' },
          { type: 'ClusterComputeResource', moid: 'domain-c7' },
          { type: 'ResourcePool', moid: 'resgroup-5' },
          { type: 'Folder', moid: 'group-v3' },
        ],
      },
      { tagId: 't-unknown', objects: [{ type: 'VirtualMachine', moid: 'vm-1' }] },
    ],
    tags,
    names,
  );
  assert.deepEqual(fam.labelBlocks, [
    '{category="env\\\\x",tag="say \\"hi\\"\\n",object_type="VirtualMachine",object_moid="vm-1"}',
    '{category="env\\\\x",tag="say \\"hi\\"\\n",object_type="ClusterComputeResource",object_moid="domain-c7"}',
    '{category="env\\\\x",tag="say \\"hi\\"\\n",object_type="ResourcePool",object_moid="resgroup-5"}',
    '{category="env\\\\x",tag="say \\"hi\\"\\n",object_type="Folder",object_moid="group-v3"}',
  ]);
  assert.deepEqual(fam.values, [1, 1, 1, 1]);
  // Names come from the entity list, then the inventory (VMs, hosts), else the moid; folders are not filtered.
  assert.deepEqual(asked, [
    ['vm', 'web01'],
    ['host', 'esx09'],
    ['datastore', 'ds "x"'],
    ['cluster', 'prod-cluster'],
    ['resource_pool', 'resgroup-5'],
  ]);
});

test('decodeFieldDefs and decodeCustomValues read vim25 arrays; later values win, junk is skipped', () => {
  const defs = decodeFieldDefs(
    parseXml(
      '<val><CustomFieldDef><key>101</key><name>owner</name><type>string</type></CustomFieldDef>' +
        '<CustomFieldDef><name>no key</name></CustomFieldDef>' +
        '<CustomFieldDef><key>102</key><name>rack &amp; "row"</name></CustomFieldDef></val>',
    ),
  );
  assert.deepEqual(
    [...defs],
    [
      ['101', 'owner'],
      ['102', 'rack & "row"'],
    ],
  );
  const values = decodeCustomValues(
    parseXml(
      '<val><CustomFieldValue><key>101</key><value>alice</value></CustomFieldValue>' +
        '<CustomFieldValue><key>102</key></CustomFieldValue>' +
        '<CustomFieldValue><key>101</key><value>bob\nsmith</value></CustomFieldValue></val>',
    ),
  );
  assert.deepEqual([...values], [['101', 'bob\nsmith']]);
  assert.equal(decodeCustomValues(undefined).size, 0);
});

test('customAttributeFamily: entities without values or filtered out emit nothing; undefined keys skipped', () => {
  const { ctx } = fakeCtx(['hidden']);
  const entities: EntityValues[] = [
    { type: 'VirtualMachine', moid: 'vm-1', name: 'web01', values: new Map([['101', 'alice']]) },
    { type: 'VirtualMachine', moid: 'vm-2', name: 'hidden', values: new Map([['101', 'eve']]) },
    { type: 'HostSystem', moid: 'host-9', name: 'esx09', values: new Map() },
    {
      type: 'Folder',
      moid: 'group-v3',
      name: 'f',
      values: new Map([
        ['999', 'orphan'],
        ['102', 'ünï'],
      ]),
    },
  ];
  const fam = customAttributeFamily(
    ctx,
    entities,
    new Map([
      ['101', 'owner'],
      ['102', 'rack'],
    ]),
  );
  assert.deepEqual(fam.labelBlocks, [
    '{object_type="VirtualMachine",object_moid="vm-1",attribute="owner",value="alice"}',
    '{object_type="Folder",object_moid="group-v3",attribute="rack",value="ünï"}',
  ]);
});

/** A context with a real compiled filter; the inventory knows the paths of two VMs and one host. */
function pathCtx(filters: FiltersSpec): CollectContext {
  const paths = new Map([
    ['vm-1', '/DC0/vm/prod/web01'],
    ['vm-2', '/DC0/vm/test/web02'],
    ['host-9', '/DC0/host/C0/esx09'],
  ]);
  const inventory = {
    vms: [],
    hosts: [],
    hostsByMoid: new Map(),
    placement: () => ({ cluster: '', datacenter: '' }),
    path: (moid: string) => paths.get(moid),
  } as unknown as Inventory;
  return { inventory, filter: compileFilter(filters) } as unknown as CollectContext;
}

const TAG = new Map([['t1', { tag: 'prod', category: 'env' }]]);
const object = (type: string, moid: string) => ({ type, moid });

test('tags follow paths filters like the objects themselves: include.paths keeps, exclude.paths drops', () => {
  const attachments = [
    {
      tagId: 't1',
      objects: [
        object('VirtualMachine', 'vm-1'),
        object('VirtualMachine', 'vm-2'),
        object('HostSystem', 'host-9'),
        object('Datastore', 'ds-1'),
        object('Datastore', 'ds-2'),
      ],
    },
  ];
  const known = new Map([
    ['vm-1', { name: 'web01' }],
    ['vm-2', { name: 'web02' }],
    ['ds-1', { name: 'san1', path: '/DC0/datastore/san1' }],
    ['ds-2', { name: 'local', path: '/DC0/datastore/local' }],
  ]);
  const ctx = pathCtx({
    vm: { include: { paths: ['/DC0/vm/**'] }, exclude: { paths: ['/DC0/vm/test/**'] } },
    host: { include: { paths: ['/DC0/host/C0/*'] } },
    datastore: { exclude: { paths: ['/DC0/datastore/local'] } },
  });
  const fam = tagInfoFamily(ctx, attachments, TAG, known);
  assert.deepEqual(
    fam.labelBlocks.map((b) => /object_moid="([^"]+)"/.exec(b)?.[1]),
    ['vm-1', 'host-9', 'ds-1'],
  );
});

test('tags of datastore clusters and vApps go through the datastore and resource_pool filters', () => {
  const attachments = [
    {
      tagId: 't1',
      objects: [
        object('StoragePod', 'group-p1'),
        object('StoragePod', 'group-p2'),
        object('VirtualApp', 'resgroup-v1'),
        object('VirtualApp', 'resgroup-v2'),
      ],
    },
  ];
  const known = new Map([
    ['group-p1', { name: 'pod-gold', path: '/DC0/datastore/pod-gold' }],
    ['group-p2', { name: 'pod-scratch', path: '/DC0/datastore/pod-scratch' }],
    ['resgroup-v1', { name: 'app-prod', path: '/DC0/host/C0/Resources/app-prod' }],
    ['resgroup-v2', { name: 'app-test', path: '/DC0/host/C0/Resources/app-test' }],
  ]);
  const ctx = pathCtx({
    datastore: { exclude: { names: ['pod-scratch'] } },
    resource_pool: { exclude: { paths: ['/DC0/host/C0/Resources/app-test'] } },
  });
  const fam = tagInfoFamily(ctx, attachments, TAG, known);
  assert.deepEqual(
    fam.labelBlocks.map((b) => /object_moid="([^"]+)"/.exec(b)?.[1]),
    ['group-p1', 'resgroup-v1'],
  );
});

test('custom attributes follow paths filters too', () => {
  const ctx = pathCtx({ vm: { exclude: { paths: ['/DC0/vm/test/**'] } } });
  const entities: EntityValues[] = [
    { type: 'VirtualMachine', moid: 'vm-1', name: 'web01', values: new Map([['101', 'alice']]) },
    { type: 'VirtualMachine', moid: 'vm-2', name: 'web02', values: new Map([['101', 'eve']]) },
  ];
  const fam = customAttributeFamily(ctx, entities, new Map([['101', 'owner']]));
  assert.deepEqual(fam.labelBlocks, [
    '{object_type="VirtualMachine",object_moid="vm-1",attribute="owner",value="alice"}',
  ]);
});

/** `ctx` with this collection's tags: tag t1 (env/prod) attached to `objects`. */
function tagged(ctx: CollectContext, objects: AttachedObject[]): CollectContext {
  return { ...ctx, tags: () => Promise.resolve({ tags: TAG, attachments: [{ tagId: 't1', objects }] }) };
}

const customValues = (...kv: [string, string][]): string =>
  val(kv.map(([k, v]) => `<CustomFieldValue><key>${k}</key><value>${v}</value></CustomFieldValue>`).join(''));
const fieldDefs = (...kv: [string, string][]) =>
  singleton([
    [
      'field',
      val(kv.map(([k, n]) => `<CustomFieldDef><key>${k}</key><name>${n}</name></CustomFieldDef>`).join('')),
    ],
  ]);

// Root group-d1 > DC0 > datastore folder > san1 (attributes), vm folder > web01 (attributes), host folder > esx09.
const MODEL = [
  obj('Datacenter', 'datacenter-2', [
    ['name', val('DC0')],
    ['parent', ref('Folder', 'group-d1')],
  ]),
  obj('Folder', 'group-s5', [
    ['name', val('datastore')],
    ['parent', ref('Datacenter', 'datacenter-2')],
  ]),
  obj('Folder', 'group-v3', [
    ['name', val('vm')],
    ['parent', ref('Datacenter', 'datacenter-2')],
    ['customValue', customValues(['__proto__', 'folder-owner'])],
  ]),
  obj('Folder', 'group-h4', [
    ['name', val('host')],
    ['parent', ref('Datacenter', 'datacenter-2')],
  ]),
  obj('Datastore', 'datastore-1', [
    ['name', val('san1')],
    ['parent', ref('Folder', 'group-s5')],
    ['customValue', customValues(['constructor', 'rack 7'], ['999', 'orphan'])],
  ]),
  obj('Datastore', 'datastore-2', [
    ['name', val('local')],
    ['parent', ref('Folder', 'group-s5')],
  ]),
  obj('VirtualMachine', 'vm-1', [
    ['name', val('web01')],
    ['parent', ref('Folder', 'group-v3')],
    ['customValue', customValues(['__proto__', 'alice'])],
  ]),
  obj('HostSystem', 'host-9', [
    ['name', val('esx09')],
    ['parent', ref('Folder', 'group-h4')],
    ['customValue', customValues(['toString', 'b2'])],
  ]),
];
// Attribute keys named like Object.prototype members: plain data in Maps, never prototype lookups.
const FIELDS = fieldDefs(['__proto__', 'owner'], ['constructor', 'rack'], ['toString', '__proto__']);

test('custom attributes come from the model: customValue of every entity type named by CustomFieldsManager.field', async () => {
  const inv = inventoryOf(MODEL, { singletons: new Map([['CustomFieldsManager', FIELDS]]) });
  const samples = await collectSamples(createTagCollector(), tagged(contextOf(inv), []));
  assert.deepEqual(
    find(samples, 'vsphere_custom_attribute_info')
      .map((s) => `${s.labels.object_type} ${s.labels.object_moid} ${s.labels.attribute}=${s.labels.value}`)
      .sort(),
    [
      'Datastore datastore-1 rack=rack 7',
      'Folder group-v3 owner=folder-owner',
      'HostSystem host-9 __proto__=b2',
      'VirtualMachine vm-1 owner=alice',
    ],
  );
  // Promotion sees the same values (keys as data).
  assert.deepEqual(
    [...readFieldNames(inv)],
    [
      ['__proto__', 'owner'],
      ['constructor', 'rack'],
      ['toString', '__proto__'],
    ],
  );
  const values = new Map(readEntities(contextOf(inv)).map((e) => [e.moid, [...e.values]]));
  assert.deepEqual(values.get('vm-1'), [['__proto__', 'alice']]);
  assert.equal(values.has('datastore-2'), false);
});

test('without a CustomFieldsManager in the model no attribute is exported; tags still are', async () => {
  const samples = await collectSamples(
    createTagCollector(),
    tagged(contextOf(inventoryOf(MODEL)), [{ type: 'VirtualMachine', moid: 'vm-1' }]),
  );
  assert.deepEqual(find(samples, 'vsphere_custom_attribute_info'), []);
  assert.deepEqual(
    find(samples, 'vsphere_tag_info').map((s) => s.labels.object_moid),
    ['vm-1'],
  );
});

test('tags and attributes are filtered by the names and paths the model knows', async () => {
  const inv = inventoryOf(MODEL, { singletons: new Map([['CustomFieldsManager', FIELDS]]) });
  const filter = compileFilter({
    datastore: { exclude: { paths: ['/DC0/datastore/san1'] } },
    host: { exclude: { names: ['esx09'] } },
  });
  const moids = ['datastore-1', 'datastore-2', 'host-9', 'vm-1', 'group-v3'];
  const samples = await collectSamples(
    createTagCollector(),
    tagged(
      contextOf(inv, filter),
      moids.map((moid) => ({ type: inv.tree.get(moid)!.type, moid })),
    ),
  );
  assert.deepEqual(
    find(samples, 'vsphere_tag_info')
      .map((s) => s.labels.object_moid)
      .sort(),
    ['datastore-2', 'group-v3', 'vm-1'],
  );
  assert.deepEqual(
    find(samples, 'vsphere_custom_attribute_info')
      .map((s) => s.labels.object_moid)
      .sort(),
    ['group-v3', 'vm-1'],
  );
});

test('custom attributes are asked of the model only by the collector that exports them', () => {
  const specs = createTagCollector().properties ?? [];
  assert.deepEqual(COLLECTORS.find((c) => c.name === 'tag')?.properties, specs);
  const byType = new Map(specs.map((s) => [s.type, s.pathSet]));
  for (const type of MANAGED_ENTITY_TYPES) assert.ok(byType.get(type)?.includes('customValue'), type);
  assert.deepEqual(byType.get('CustomFieldsManager'), ['field']);
  for (const other of [alarmCollector, datastoreCollector])
    for (const s of other.properties ?? []) {
      assert.notEqual(s.type, 'CustomFieldsManager');
      assert.ok(!s.pathSet.includes('customValue'), `${other.name} ${s.type}`);
    }
});

test('a failed tag read fails the tag family only: custom attributes are emitted, the error is the read one', async () => {
  const inv = inventoryOf(MODEL, { singletons: new Map([['CustomFieldsManager', FIELDS]]) });
  const refused = new Error('vCenter rejected the REST login');
  let reads = 0;
  const ctx: CollectContext = {
    ...contextOf(inv),
    tags: () => (reads++, Promise.reject(refused)),
  };
  const tag = createTagCollector({ infoLabels: { tagCategories: ['env'], customAttributes: [] } });
  const fams: MetricFamily[] = [];
  await assert.rejects(
    tag.collect(ctx, (f) => fams.push(f)),
    (e) => e === refused,
  );
  assert.deepEqual(
    fams.map((f) => [f.name, f.labelBlocks.length]),
    [['vsphere_custom_attribute_info', 4]],
  );
  await assert.rejects(tag.infoLabels!(ctx), (e) => e === refused);
  assert.equal(reads, 2, 'the collector asks ctx.tags each time: sharing one read is up to the source');
  // Without a tag source (the target gives one whenever this collector runs) the same holds.
  const none: MetricFamily[] = [];
  await assert.rejects(
    tag.collect(contextOf(inv), (f) => none.push(f)),
    /no tag source/,
  );
  assert.deepEqual(
    none.map((f) => f.name),
    ['vsphere_custom_attribute_info'],
  );
});
