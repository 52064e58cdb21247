import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VsphereError } from '../../../src/vsphere/errors.js';
import type { Tag, TagAttachments } from '../../../src/vsphere/tag-data.js';
import {
  joinTagNames,
  TagNameCache,
  TagSource,
  type TaggingSession,
} from '../../../src/vsphere/tag-source.js';

const signal = (): AbortSignal => new AbortController().signal;
const httpStatus = (statusCode: number): VsphereError =>
  new VsphereError('VSPHERE_HTTP_STATUS', `POST list-attached-objects-on-tags: HTTP ${statusCode}`, {
    statusCode,
  });

/**
 * A fake vCenter tagging service: category c1 "env" with the tags in `tags`; attachments of a list
 * naming a tag that is no longer there fail with `refuse` (as vCenter answers a deleted tag id).
 */
function fakeVcenter(refuse: () => Error = () => httpStatus(400)) {
  const calls: string[] = [];
  const tags: Tag[] = [
    { id: 't1', name: 'prod', categoryId: 'c1' },
    { id: 't2', name: 'test', categoryId: 'c1' },
  ];
  const sessions = { opened: 0, closedBy: [] as (number | undefined)[] };
  // Listed by tags() but refused by attachments: deleted in between; `all`: every list refused.
  const refused = { ids: new Set<string>(), all: false };
  const open = (): TaggingSession => {
    sessions.opened++;
    return {
      tagging: {
        categories: () => (calls.push('categories'), Promise.resolve(new Map([['c1', 'env']]))),
        tags: () => (calls.push('tags'), Promise.resolve(tags.map((t) => ({ ...t })))),
        attachments: (ids: readonly string[]) => {
          calls.push(`attachments ${ids.join(',')}`);
          const gone = (id: string) => refused.ids.has(id) || !tags.some((t) => t.id === id);
          if (refused.all || ids.some(gone)) return Promise.reject(refuse());
          const out: TagAttachments[] = ids.map((tagId) => ({
            tagId,
            objects: [{ type: 'VirtualMachine', moid: `vm-${tagId}` }],
          }));
          return Promise.resolve(out);
        },
      },
      close: (deadline?: number) => (sessions.closedBy.push(deadline), Promise.resolve()),
    };
  };
  return { calls, tags, sessions, refused, open };
}

test('joinTagNames drops tags whose category is unknown', () => {
  const tags: Tag[] = [
    { id: 't1', name: 'prod', categoryId: 'c1' },
    { id: 't2', name: 'orphan', categoryId: 'c-gone' },
  ];
  assert.deepEqual(
    [...joinTagNames(new Map([['c1', 'env']]), tags)],
    [['t1', { tag: 'prod', category: 'env' }]],
  );
});

test('TagNameCache reads the API once per TTL, again when forced', async () => {
  let now = 0;
  let reads = 0;
  const tagging = {
    categories: () => {
      reads++;
      return Promise.resolve(new Map([['c1', `env${reads}`]]));
    },
    tags: () => Promise.resolve([{ id: 't1', name: 'prod', categoryId: 'c1' }]),
    attachments: () => Promise.resolve([]),
  };
  const cache = new TagNameCache(tagging, 1000, () => now);
  assert.equal(cache.stale, true);
  assert.equal((await cache.get(signal())).get('t1')?.category, 'env1');
  now = 999;
  assert.equal(cache.stale, false);
  assert.equal((await cache.get(signal())).get('t1')?.category, 'env1');
  assert.equal((await cache.get(signal(), true)).get('t1')?.category, 'env2');
  now = 999 + 1000;
  assert.equal((await cache.get(signal())).get('t1')?.category, 'env3');
  assert.equal(reads, 3);
});

test('the REST session is opened at the first read only, and ended once at close with its deadline', async () => {
  const vc = fakeVcenter();
  const idle = new TagSource(vc.open);
  idle.collection(signal());
  await idle.close(1234);
  assert.deepEqual(vc.sessions, { opened: 0, closedBy: [] }, 'never read: nothing opened, nothing to end');
  await assert.rejects(idle.read(signal()), /closed/);
  assert.equal(vc.sessions.opened, 0, 'a closed source opens no session');

  const source = new TagSource(vc.open);
  await source.read(signal());
  await source.read(signal());
  assert.equal(vc.sessions.opened, 1, 'one session for every read');
  await source.close(5678);
  assert.deepEqual(vc.sessions.closedBy, [5678]);
  await assert.rejects(source.collection(signal())(), /the REST tagging session is closed/);
  assert.equal(vc.sessions.opened, 1);
});

test('one read per collection, shared by its callers; names cached across collections, attachments not', async () => {
  const vc = fakeVcenter();
  let now = 0;
  const source = new TagSource(vc.open, { namesTtlMs: 1000, now: () => now });
  const first = source.collection(signal());
  const [a, b] = await Promise.all([first(), first()]);
  assert.equal(a, b, 'the same snapshot for collect() and infoLabels()');
  assert.deepEqual(
    [...a.tags],
    [
      ['t1', { tag: 'prod', category: 'env' }],
      ['t2', { tag: 'test', category: 'env' }],
    ],
  );
  assert.deepEqual(
    a.attachments.map((x) => [x.tagId, x.objects.map((o) => o.moid)]),
    [
      ['t1', ['vm-t1']],
      ['t2', ['vm-t2']],
    ],
  );
  await first();
  assert.deepEqual(vc.calls, ['categories', 'tags', 'attachments t1,t2']);
  vc.calls.length = 0;
  now = 999;
  await source.collection(signal())();
  assert.deepEqual(vc.calls, ['attachments t1,t2']);
  vc.calls.length = 0;
  now = 1000;
  await source.collection(signal())();
  assert.deepEqual(vc.calls, ['categories', 'tags', 'attachments t1,t2'], 'names read again after the TTL');
});

test('a tag deleted since the names were cached: vCenter refuses the list, names are reloaded once', async () => {
  const vc = fakeVcenter();
  const source = new TagSource(vc.open, { now: () => 0 });
  await source.read(signal());
  vc.tags.splice(1, 1);
  vc.calls.length = 0;
  const snap = await source.read(signal());
  assert.deepEqual(vc.calls, ['attachments t1,t2', 'categories', 'tags', 'attachments t1']);
  assert.deepEqual([...snap.tags.keys()], ['t1']);
  assert.deepEqual(
    snap.attachments.map((x) => x.tagId),
    ['t1'],
  );
  vc.calls.length = 0;
  await source.read(signal());
  assert.deepEqual(vc.calls, ['attachments t1'], 'the reloaded names are cached again');
});

test('no reload when the names were just read, or when vCenter fails otherwise: the error is the read one', async () => {
  // Names just read: a refusal cannot come from a stale cache (the tag went in between).
  const fresh = fakeVcenter();
  fresh.refused.ids.add('t2');
  await assert.rejects(
    new TagSource(fresh.open).read(signal()),
    (e) => e instanceof VsphereError && e.statusCode === 400,
  );
  assert.deepEqual(fresh.calls, ['categories', 'tags', 'attachments t1,t2']);

  for (const refuse of [
    () => httpStatus(503),
    () =>
      new VsphereError('VSPHERE_NOT_AUTHENTICATED', 'vCenter rejected the REST login', { statusCode: 401 }),
    () => new Error('socket hang up'),
  ]) {
    const vc = fakeVcenter(refuse);
    const source = new TagSource(vc.open, { now: () => 0 });
    await source.read(signal());
    vc.tags.pop();
    vc.calls.length = 0;
    const want = refuse();
    await assert.rejects(source.read(signal()), (e) => e instanceof Error && e.message === want.message);
    assert.deepEqual(vc.calls, ['attachments t1,t2'], want.message);
  }
});

test('reloaded and refused again: that refusal is the answer (one reload, not a loop)', async () => {
  const vc = fakeVcenter();
  const source = new TagSource(vc.open, { now: () => 0 });
  await source.read(signal());
  vc.refused.all = true;
  vc.calls.length = 0;
  await assert.rejects(source.read(signal()), (e) => e instanceof VsphereError && e.statusCode === 400);
  assert.deepEqual(vc.calls, ['attachments t1,t2', 'categories', 'tags', 'attachments t1,t2']);
});
