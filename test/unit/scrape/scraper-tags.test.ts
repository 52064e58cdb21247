/**
 * The scraper hands each collection its read of the target's tag source (ctx.tags): the tag
 * collector and the promoted info labels share it, and a failing REST read fails the tag family
 * only. A fake vCenter: one VM with a custom attribute, tag env/prod attached to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { CollectContext, Collector } from '../../../src/collectors/collector.js';
import { createTagCollector } from '../../../src/collectors/tag.js';
import { MetricFamily } from '../../../src/exposition/index.js';
import { Scraper, type Collection } from '../../../src/scrape/scraper.js';
import { SoapStats } from '../../../src/scrape/self-stats.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import type { PerfManager } from '../../../src/vsphere/perf-manager.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { TagSource } from '../../../src/vsphere/tag-source.js';
import { find, parsePrometheusText, type Sample } from '../../harness/prom-text.js';
import { inventoryOf, obj, singleton, val } from '../../harness/model-fixture.js';
import { collectionText } from '../../harness/collection-text.js';

const INVENTORY = inventoryOf(
  [
    obj('VirtualMachine', 'vm-1', [
      ['name', val('web01')],
      ['customValue', val('<CustomFieldValue><key>101</key><value>alice</value></CustomFieldValue>')],
    ]),
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

/** A scraper with the tag collector and a stand-in for vsphere_vm_info showing the promoted labels. */
function rig(login: () => Promise<void>) {
  const calls: string[] = [];
  const client = {
    withoutRecovery: () => client,
    session: { content: undefined, stats: { logins: 1, loginFailures: 0, relogins: 0 }, isLoggedIn: true },
  } as unknown as VimClient;
  const tags = new TagSource(() => ({
    tagging: {
      categories: () => (calls.push('categories'), login().then(() => new Map([['c1', 'env']]))),
      tags: () => (calls.push('tags'), Promise.resolve([{ id: 't1', name: 'prod', categoryId: 'c1' }])),
      attachments: () => (
        calls.push('attachments'),
        Promise.resolve([{ tagId: 't1', objects: [{ type: 'VirtualMachine', moid: 'vm-1' }] }])
      ),
    },
    close: () => Promise.resolve(),
  }));
  const tag = createTagCollector({ infoLabels: { tagCategories: ['env'], customAttributes: ['owner'] } });
  const vmInfo = {
    name: 'vm',
    families: [],
    async collect(ctx: CollectContext, emit: (f: MetricFamily) => void) {
      const labels = await ctx.infoLabels;
      const f = new MetricFamily('vsphere_fake_vm_info', 'Promoted labels of vm-1.', 'gauge', [
        'env',
        'owner',
      ]);
      f.add(labels ? [...labels('vm-1')] : ['?', '?'], 1);
      emit(f);
    },
  } satisfies Collector;
  const scraper = new Scraper({
    client,
    inventory: { fetch: () => Promise.resolve(INVENTORY) },
    perf: {} as PerfManager,
    tags,
    collectors: [vmInfo, tag],
    soapStats: new SoapStats(),
    timeoutSeconds: 10,
    logger: pino({ level: 'silent' }),
    version: 'test',
    infoLabels: (ctx) => tag.infoLabels!(ctx),
  });
  return { scraper, calls };
}

async function samplesOf(c: Collection): Promise<Sample[]> {
  return parsePrometheusText((await collectionText(c)).toString('utf8')).samples;
}

const success = (samples: Sample[], collector: string): number | undefined =>
  find(samples, 'vsphere_collector_success', { collector })[0]?.value;

test('one tag read per collection, shared by the tag collector and the promoted labels', async () => {
  const { scraper, calls } = rig(() => Promise.resolve());
  const first = await samplesOf(await scraper.collect(5));
  assert.equal(success(first, 'tag'), 1);
  assert.deepEqual(
    find(first, 'vsphere_tag_info').map((s) => [s.labels.category, s.labels.tag, s.labels.object_moid]),
    [['env', 'prod', 'vm-1']],
  );
  assert.deepEqual(
    find(first, 'vsphere_fake_vm_info').map((s) => [s.labels.env, s.labels.owner]),
    [['prod', 'alice']],
  );
  assert.deepEqual(calls, ['categories', 'tags', 'attachments']);
  calls.length = 0;
  await scraper.collect(5);
  assert.deepEqual(calls, ['attachments'], 'names cached, attachments read once again');
});

test('a refused REST login fails the tag family only: custom attributes and the other collectors stay', async () => {
  const refused = () =>
    Promise.reject(new VsphereError('VSPHERE_NOT_AUTHENTICATED', 'vCenter rejected the REST login'));
  const { scraper, calls } = rig(refused);
  const samples = await samplesOf(await scraper.collect(5));
  assert.equal(find(samples, 'vsphere_up')[0]?.value, 1);
  assert.equal(success(samples, 'tag'), 0);
  assert.equal(success(samples, 'vm'), 1);
  assert.deepEqual(find(samples, 'vsphere_tag_info'), []);
  assert.deepEqual(
    find(samples, 'vsphere_custom_attribute_info').map((s) => [s.labels.object_moid, s.labels.value]),
    [['vm-1', 'alice']],
  );
  // The promoted labels are left out ('?' in the stand-in) and the REST read was tried once.
  assert.deepEqual(
    find(samples, 'vsphere_fake_vm_info').map((s) => s.labels.env),
    ['?'],
  );
  assert.deepEqual(calls, ['categories']);
});
