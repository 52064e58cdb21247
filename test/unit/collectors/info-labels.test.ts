import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CollectContext } from '../../../src/collectors/collector.js';
import { promotedValues } from '../../../src/collectors/info-labels.js';
import { infoLabelProblems, promotedLabelNames, sanitizeLabelPart } from '../../../src/model/info-labels.js';
import { createTagCollector } from '../../../src/collectors/tag.js';
import { TagSource } from '../../../src/vsphere/tag-source.js';
import { createHostCollector } from '../../../src/collectors/host.js';
import { createVmCollector } from '../../../src/collectors/vm.js';
import type { MetricFamily } from '../../../src/exposition/index.js';
import type { Inventory } from '../../../src/vsphere/inventory.js';
import { contextOf, inventoryOf, obj, singleton, val } from '../../harness/model-fixture.js';

test('sanitizeLabelPart: lowercase, [^a-z0-9_] → "_", runs collapsed, trimmed', () => {
  assert.equal(sanitizeLabelPart('Owner Team'), 'owner_team');
  assert.equal(sanitizeLabelPart('  env  '), 'env');
  assert.equal(sanitizeLabelPart('Cost-Center/ID #2'), 'cost_center_id_2');
  assert.equal(sanitizeLabelPart('__a__b__'), 'a_b');
  assert.equal(sanitizeLabelPart('Ünïcødé'), 'n_c_d');
  assert.equal(sanitizeLabelPart('日本語'), '');
  assert.equal(sanitizeLabelPart('---'), '');
  assert.equal(sanitizeLabelPart('9lives'), '9lives');
});

test('promotedLabelNames: tag categories first, then attributes, in configured order', () => {
  assert.deepEqual(
    promotedLabelNames({ tagCategories: ['Owner Team', 'env'], customAttributes: ['Backup-Policy'] }),
    ['tag_owner_team', 'tag_env', 'attribute_backup_policy'],
  );
  assert.deepEqual(promotedLabelNames({ tagCategories: [], customAttributes: [] }), []);
});

test('infoLabelProblems: empty names and collisions name both entries; tag/attribute never collide', () => {
  const problems = infoLabelProblems({
    tagCategories: ['Owner Team', 'owner-team', '☃'],
    customAttributes: ['owner team', 'Owner_Team'],
  });
  assert.deepEqual(
    problems.map((p) => [`${p.entry.key}.${p.entry.index}`, p.message]),
    [
      [
        'tag_categories.1',
        '"owner-team" (label tag_owner_team) collides with info_labels.tag_categories.0 ("Owner Team")',
      ],
      ['tag_categories.2', '"☃" gives an empty label name'],
      [
        'custom_attributes.1',
        '"Owner_Team" (label attribute_owner_team) collides with info_labels.custom_attributes.0 ("owner team")',
      ],
    ],
  );
  assert.deepEqual(infoLabelProblems({ tagCategories: ['env'], customAttributes: ['env'] }), []);
});

test('promotedValues: tags of a category sorted and joined, attribute values by name, "" otherwise', () => {
  const labels = promotedValues(
    { tagCategories: ['env', 'Owner Team'], customAttributes: ['owner'] },
    {
      tags: new Map([
        ['t-prod', { tag: 'prod', category: 'env' }],
        ['t-blue', { tag: 'blue', category: 'env' }],
        ['t-ops', { tag: 'ops', category: 'Owner Team' }],
        ['t-x', { tag: 'x', category: 'other' }],
      ]),
      attachments: [
        { tagId: 't-prod', objects: [{ type: 'VirtualMachine', moid: 'vm-1' }] },
        { tagId: 't-blue', objects: [{ type: 'VirtualMachine', moid: 'vm-1' }] },
        { tagId: 't-ops', objects: [{ type: 'HostSystem', moid: 'host-1' }] },
        { tagId: 't-x', objects: [{ type: 'VirtualMachine', moid: 'vm-2' }] },
        { tagId: 't-unknown', objects: [{ type: 'VirtualMachine', moid: 'vm-2' }] },
      ],
      // "owner" is defined twice (for VMs and for hosts): either key's value counts.
      fields: new Map([
        ['1', 'owner'],
        ['2', 'owner'],
        ['3', 'rack'],
      ]),
      values: new Map([
        ['vm-1', new Map([['1', 'alice']])],
        ['host-1', new Map([['2', 'bob, "b"']])],
        ['vm-2', new Map([['3', 'R1']])],
      ]),
    },
  );
  assert.deepEqual(labels('vm-1'), ['blue,prod', '', 'alice']);
  assert.deepEqual(labels('host-1'), ['', 'ops', 'bob, "b"']);
  assert.deepEqual(labels('vm-2'), ['', '', '']);
  assert.deepEqual(labels('vm-404'), ['', '', '']);
});

/** A model holding vm-1 (with attribute 101 = alice), vm-2, host-1 and the attribute definitions. */
function modelInventory(): Inventory {
  return inventoryOf(
    [
      obj('VirtualMachine', 'vm-1', [
        ['name', val('web01')],
        ['customValue', val('<CustomFieldValue><key>101</key><value>alice</value></CustomFieldValue>')],
      ]),
      obj('VirtualMachine', 'vm-2', [['name', val('web02')]]),
      obj('HostSystem', 'host-1', [['name', val('esx01')]]),
    ],
    {
      singletons: new Map([
        [
          'CustomFieldsManager',
          singleton([['field', val('<CustomFieldDef><key>101</key><name>owner</name></CustomFieldDef>')]]),
        ],
      ]),
    },
  );
}

function fakeTagging(calls: string[]) {
  return {
    categories: () => (calls.push('categories'), Promise.resolve(new Map([['c1', 'env']]))),
    tags: () => (
      calls.push('tags'),
      Promise.resolve([
        { id: 't1', name: 'prod', categoryId: 'c1' },
        { id: 't2', name: 'blue', categoryId: 'c1' },
      ])
    ),
    attachments: () => (
      calls.push('attachments'),
      Promise.resolve([
        { tagId: 't1', objects: [{ type: 'VirtualMachine', moid: 'vm-1' }] },
        { tagId: 't2', objects: [{ type: 'VirtualMachine', moid: 'vm-1' }] },
      ])
    ),
  };
}

/** What the vm and host collectors get: an inventory of two powered-off VMs and a disconnected host. */
function fakeCtx(): CollectContext {
  const inventory = {
    vms: [
      { moid: 'vm-1', name: 'web01', template: false, powerState: 'poweredOff' },
      { moid: 'vm-2', name: 'web02', template: false, powerState: 'poweredOff' },
    ],
    hosts: [{ moid: 'host-1', name: 'esx01', connectionState: 'disconnected', powerState: 'unknown' }],
    hostsByMoid: new Map(),
    placement: () => ({ cluster: 'C0', datacenter: 'DC0' }),
  } as unknown as Inventory;
  return {
    inventory,
    filter: { allows: () => true },
    signal: new AbortController().signal,
    perf: { counters: () => Promise.resolve(new Map()) },
  } as unknown as CollectContext;
}

test('tag collector: collect() and infoLabels() of one collection share ONE tagging read; a new one reads again', async () => {
  const calls: string[] = [];
  const source = new TagSource(() => ({ tagging: fakeTagging(calls), close: () => Promise.resolve() }));
  const tag = createTagCollector({ infoLabels: { tagCategories: ['env'], customAttributes: ['owner'] } });
  // What the scraper does for each collection: the source's read of that collection as ctx.tags.
  const collection = (): CollectContext => {
    const ctx = contextOf(modelInventory());
    return { ...ctx, tags: source.collection(ctx.signal) };
  };
  const ctx = collection();
  const [labels] = await Promise.all([tag.infoLabels!(ctx), tag.collect(ctx, () => undefined)]);
  assert.deepEqual(labels('vm-1'), ['blue,prod', 'alice']);
  assert.deepEqual(labels('host-1'), ['', '']);
  await tag.infoLabels!(ctx);
  // Custom attributes come from the model: the only calls are the tagging API's.
  assert.deepEqual(calls, ['categories', 'tags', 'attachments']);
  calls.length = 0;
  await tag.collect(collection(), () => undefined);
  // Tag names are cached across collections; attachments are read again.
  assert.deepEqual(calls, ['attachments']);
});

test('vm and host collectors append the promoted labels to their info family only', async () => {
  const names = ['tag_env', 'attribute_owner'];
  const vm = createVmCollector({ infoLabels: names });
  const host = createHostCollector({ infoLabels: names });
  assert.deepEqual(vm.families[0]!.labels.slice(-3), ['tools_version', ...names]);
  assert.deepEqual(host.families[0]!.labels.slice(-3), ['model', ...names]);
  assert.equal(createVmCollector().families[0]!.labels.at(-1), 'tools_version');
  const ctx = fakeCtx();
  ctx.infoLabels = Promise.resolve((moid: string) => (moid === 'vm-1' ? ['prod', 'alice'] : ['', '']));
  const fams: MetricFamily[] = [];
  await vm.collect(ctx, (f) => fams.push(f));
  await host.collect(ctx, (f) => fams.push(f));
  const info = (name: string) => fams.find((f) => f.name === name)!.labelBlocks;
  assert.match(info('vsphere_vm_info')[0]!, /tools_version="",tag_env="prod",attribute_owner="alice"\}$/);
  assert.match(info('vsphere_vm_info')[1]!, /vm_moid="vm-2",.*tag_env="",attribute_owner=""\}$/);
  assert.match(info('vsphere_host_info')[0]!, /model="",tag_env="",attribute_owner=""\}$/);
  // A failed read (undefined) still gives every series the same label set.
  const failed = fakeCtx();
  failed.infoLabels = Promise.resolve(undefined);
  const again: MetricFamily[] = [];
  await vm.collect(failed, (f) => again.push(f));
  assert.match(
    again.find((f) => f.name === 'vsphere_vm_info')!.labelBlocks[0]!,
    /tag_env="",attribute_owner=""\}$/,
  );
  for (const f of [...fams, ...again].filter((f) => !f.name.endsWith('_info')))
    for (const b of f.labelBlocks) assert.doesNotMatch(b, /tag_env|attribute_owner/, f.name);
});
