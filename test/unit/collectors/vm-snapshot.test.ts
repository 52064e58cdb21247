import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, type XmlNode } from '../../../src/vsphere/soap/xml.js';
import { MetricFamily, renderLabels } from '../../../src/exposition/index.js';
import { addSnapshotSeries, walkSnapshots, type SnapshotEntry } from '../../../src/collectors/vm-snapshot.js';

const tree = (moid: string, name: string, time: string, children = ''): string =>
  `<rootSnapshotList><snapshot type="VirtualMachineSnapshot">${moid}</snapshot><vm type="VirtualMachine">vm-1</vm>` +
  `<name>${name}</name><description></description><id>1</id><createTime>${time}</createTime><state>poweredOn</state>` +
  `<quiesced>false</quiesced>${children}</rootSnapshotList>`;
const child = (s: string): string =>
  s
    .replace(/^<rootSnapshotList>/, '<childSnapshotList>')
    .replace(/<\/rootSnapshotList>$/, '</childSnapshotList>');

// A VirtualMachineSnapshotInfo: two roots; the first has a child with a grandchild.
const INFO = parseXml(
  `<val xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="VirtualMachineSnapshotInfo">` +
    `<currentSnapshot type="VirtualMachineSnapshot">snapshot-4</currentSnapshot>` +
    tree(
      'snapshot-1',
      'base',
      '2026-11-20T10:00:00Z',
      child(
        tree(
          'snapshot-2',
          'mid',
          '2026-11-21T10:00:00Z',
          child(tree('snapshot-3', 'top', '2026-11-22T10:00:00Z')),
        ),
      ),
    ) +
    tree('snapshot-4', 'other', '2026-11-19T10:00:00.5Z') +
    '</val>',
);

test('walkSnapshots counts the whole tree, finds the oldest createTime and visits in document order', () => {
  const seen: SnapshotEntry[] = [];
  const s = walkSnapshots(INFO, (e) => seen.push(e));
  assert.equal(s.count, 4);
  assert.equal(s.oldest, Date.parse('2026-11-19T10:00:00.5Z') / 1000);
  assert.deepEqual(
    seen.map((e) => [e.moid, e.name]),
    [
      ['snapshot-1', 'base'],
      ['snapshot-2', 'mid'],
      ['snapshot-3', 'top'],
      ['snapshot-4', 'other'],
    ],
  );
  assert.equal(seen[2]!.createTime, Date.parse('2026-11-22T10:00:00Z') / 1000);
});

test('walkSnapshots: no snapshot property means zero snapshots and no oldest', () => {
  assert.deepEqual(walkSnapshots(undefined), { count: 0, oldest: undefined });
  assert.deepEqual(walkSnapshots(parseXml('<val/>')), { count: 0, oldest: undefined });
});

/** A chain `depth` snapshots deep, built directly (the XML parser refuses such nesting). */
function chain(depth: number): XmlNode {
  const leaf = (i: number, kind: string): XmlNode => ({
    name: kind,
    attrs: {},
    text: '',
    children: [
      { name: 'snapshot', attrs: { type: 'VirtualMachineSnapshot' }, text: `snapshot-${i}`, children: [] },
      { name: 'name', attrs: {}, text: `s${i}`, children: [] },
      {
        name: 'createTime',
        attrs: {},
        text: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
        children: [],
      },
    ],
  });
  const root = leaf(0, 'rootSnapshotList');
  let cur = root;
  for (let i = 1; i < depth; i++) {
    const next = leaf(i, 'childSnapshotList');
    cur.children.push(next);
    cur = next;
  }
  return { name: 'val', attrs: {}, text: '', children: [root] };
}

test('walkSnapshots walks a very deep chain without recursion, and stops at its bound', () => {
  const deep = chain(100_000);
  const s = walkSnapshots(deep, undefined, 200_000);
  assert.equal(s.count, 100_000);
  assert.equal(s.oldest, Date.UTC(2026, 0, 1) / 1000);
  assert.equal(walkSnapshots(deep, undefined, 50).count, 50);
  assert.equal(walkSnapshots(deep).count, 10_000, 'default bound');
});

test('addSnapshotSeries: count for every VM, age only with snapshots, one created series per distinct snapshot', () => {
  const fam = (name: string, labels: string[]) => new MetricFamily(name, 'h', 'gauge', labels);
  const out = {
    count: fam('c', ['vm', 'vm_moid']),
    oldestAge: fam('a', ['vm', 'vm_moid']),
    created: fam('t', ['vm', 'vm_moid', 'snapshot', 'snapshot_moid']),
  };
  const now = Date.parse('2026-11-27T00:00:00Z') / 1000;
  addSnapshotSeries(['a', 'vm-1'], renderLabels(['vm', 'vm_moid'], ['a', 'vm-1']), INFO, now, out);
  addSnapshotSeries(['b', 'vm-2'], renderLabels(['vm', 'vm_moid'], ['b', 'vm-2']), undefined, now, out);
  assert.deepEqual(out.count.values, [4, 0]);
  assert.deepEqual(out.oldestAge.values, [now - Date.parse('2026-11-19T10:00:00.5Z') / 1000]);
  assert.equal(out.created.size, 4);
  assert.equal(
    out.created.labelBlocks[0],
    '{vm="a",vm_moid="vm-1",snapshot="base",snapshot_moid="snapshot-1"}',
  );
});
