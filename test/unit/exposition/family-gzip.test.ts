import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  encodeFamilies,
  FamilyGzipCache,
  MetricFamily,
  renderLabels,
} from '../../../src/exposition/index.js';

const ID = ['vm', 'vm_moid'];

// A family like the vm collector's: `n` VMs, values from `value`, kept blocks from `blocks`.
function family(
  name: string,
  n: number,
  value: (i: number) => number,
  help = 'A test family.',
): MetricFamily {
  const f = new MetricFamily(name, help, 'gauge', ID);
  for (let i = 0; i < n; i++) f.addRendered(renderLabels(ID, [`vm-name-${i}`, `vm-${i}`]), value(i));
  return f;
}

function states(name: string, n: number, current: (i: number) => string): MetricFamily {
  const f = new MetricFamily(name, 'A state set.', 'gauge', [...ID, 'state']);
  for (let i = 0; i < n; i++) {
    const r = renderLabels(ID, [`vm-name-${i}`, `vm-${i}`]);
    for (const s of ['on', 'off']) f.addRenderedWith(r, s, s === current(i) ? 1 : 0);
  }
  return f;
}

async function check(cache: FamilyGzipCache, families: MetricFamily[]): Promise<void> {
  const gz = await cache.gzip(families);
  assert.equal(gunzipSync(gz).toString(), encodeFamilies(families).toString());
}

test('unchanged blocks are put back; the text is always what the encoder writes', async () => {
  const cache = new FamilyGzipCache();
  const build = (power: string, stopped = -1): MetricFamily[] => [
    family('vsphere_vm_info', 3000, () => 1),
    family('vsphere_vm_small', 10, (i) => i),
    // 6,000 samples: blocks of 4,096 and 1,904.
    states('vsphere_vm_power_state', 3000, (i) => (i === stopped ? 'off' : power)),
  ];
  await check(cache, build('on'));
  assert.equal(cache.reused, 0);
  // New, equal families (as the next collection builds them): info and both power blocks put back.
  await check(cache, build('on'));
  assert.equal(cache.reused, 3);
  // One VM stopped (sample 2 × 2500 + 1, in the second block): the first block is still put back.
  await check(cache, build('on', 2500));
  assert.equal(cache.reused, 2);
  await check(cache, build('on', 2500));
  assert.equal(cache.reused, 3);
  // Every state changed: power is made again, info put back.
  await check(cache, build('off'));
  assert.equal(cache.reused, 1);
});

test('a family of several blocks that changed in all of them rests 8 encodings; one of one block does not', async () => {
  const cache = new FamilyGzipCache();
  const perf = (round: number): MetricFamily[] => [
    family('vsphere_vm_cpu_usage_ratio', 5000, (i) => i + round),
    family('vsphere_vm_cpus', 1500, (i) => (i % 4) + round),
  ];
  await check(cache, perf(0));
  await check(cache, perf(1));
  // The 2-block family rests (not kept, so its same samples are made again); the 1-block one is kept.
  await check(cache, perf(1));
  assert.equal(cache.reused, 1);
  for (let r = 0; r < 6; r++) await check(cache, perf(1));
  assert.equal(cache.reused, 1, 'still resting');
  // Kept again after its 8 encodings of rest.
  await check(cache, perf(1));
  await check(cache, perf(1));
  assert.equal(cache.reused, 3);
});

test('a volatile family (perf values) is written with its neighbours and never kept', async () => {
  const cache = new FamilyGzipCache();
  const perf = (): MetricFamily => {
    const f = new MetricFamily('vsphere_vm_cpu_usage_ratio', 'Perf.', 'gauge', ID, { volatile: true });
    for (let i = 0; i < 5000; i++) f.add([`vm-name-${i}`, `vm-${i}`], i);
    return f;
  };
  for (let r = 0; r < 3; r++) {
    await check(cache, [family('vsphere_vm_info', 1000, () => 1), perf()]);
    assert.equal(cache.reused, r === 0 ? 0 : 1, 'vsphere_vm_info only');
  }
});

test('two encodings at once on one cache, and one after a failed encoding, are each their own text', async () => {
  const cache = new FamilyGzipCache();
  // 3 blocks; only the last one's values depend on v.
  const build = (v: number): MetricFamily[] => [family('vsphere_vm_a', 9000, (i) => (i >= 8192 ? i * v : i))];
  await Promise.all([check(cache, build(1)), check(cache, build(2)), check(cache, build(1))]);
  await check(cache, build(2));
  assert.ok(cache.reused >= 2, 'the first two blocks, whichever encoding was kept');
  await assert.rejects(cache.gzip([...build(3), family('vsphere_vm_a', 1, () => 1)]), /Duplicate/);
  // The failed encoding kept nothing and forgot nothing.
  await check(cache, build(3));
  assert.equal(cache.reused, 2);
  await check(cache, build(3));
  assert.equal(cache.reused, 3);
});

test('a family that grew or shrank puts back only the blocks that end where they did', async () => {
  const cache = new FamilyGzipCache();
  const sized = (n: number): MetricFamily[] => [family('vsphere_vm_x', n, (i) => i)];
  await check(cache, sized(8197));
  await check(cache, sized(8192));
  assert.equal(cache.reused, 2, 'blocks [0, 4096) and [4096, 8192)');
  await check(cache, sized(8197));
  assert.equal(cache.reused, 2, 'the third block made again');
  await check(cache, sized(6000));
  assert.equal(cache.reused, 1, 'the second block now ends at 6000');
  await check(cache, sized(6000));
  assert.equal(cache.reused, 2);
});

test('one value, label, help text, sign of zero or sample more is a changed family', async () => {
  const cache = new FamilyGzipCache();
  const base = (i: number): number => (i === 5 ? 0 : i);
  await check(cache, [family('vsphere_vm_x', 2000, base)]);
  const changes: [string, MetricFamily][] = [
    ['one value', family('vsphere_vm_x', 2000, (i) => (i === 1999 ? -1 : base(i)))],
    ['-0 for 0', family('vsphere_vm_x', 2000, (i) => (i === 5 ? -0 : i))],
    ['NaN', family('vsphere_vm_x', 2000, (i) => (i === 7 ? NaN : base(i)))],
    ['help', family('vsphere_vm_x', 2000, base, 'Other help.')],
    ['one sample more', family('vsphere_vm_x', 2001, base)],
  ];
  for (const [what, f] of changes) {
    // A cache that kept the base family: the changed one is made again, never the base put back.
    const fresh = new FamilyGzipCache();
    await check(fresh, [family('vsphere_vm_x', 2000, base)]);
    await check(fresh, [f]);
    assert.equal(fresh.reused, 0, what);
  }
  const relabelled = new MetricFamily('vsphere_vm_x', 'A test family.', 'gauge', ID);
  for (let i = 0; i < 2000; i++) relabelled.add([`vm-name-${i}`, i === 3 ? 'vm-"3"' : `vm-${i}`], base(i));
  await check(cache, [relabelled]);
  assert.equal(cache.reused, 0, 'one label value');
  await check(cache, [family('vsphere_vm_x', 2000, base)]);
  assert.equal(cache.reused, 0, 'resting after a change');
});

test('families of several members, put back between families made again, keep their order', async () => {
  const cache = new FamilyGzipCache();
  // ~2.4 MiB of text each, in 10 blocks: members put back between members made, over two input buffers.
  const build = (round: number): MetricFamily[] =>
    ['a', 'b', 'c', 'd', 'e'].map((n, k) =>
      family(`vsphere_vm_${n}_bytes`, 40_000, (i) => (k % 2 === 0 ? i : i + round)),
    );
  for (let round = 0; round < 3; round++) {
    await check(cache, build(round));
    // a, c and e are unchanged: 10 blocks each; b and d change throughout and rest.
    assert.equal(cache.reused, round === 0 ? 0 : 30);
  }
});

test('empty and small families are never kept; a duplicate name fails the encoding', async () => {
  const cache = new FamilyGzipCache();
  const empty = new MetricFamily('vsphere_vm_empty', 'Empty.', 'gauge', ID);
  await check(cache, [empty, family('vsphere_vm_small', 999, () => 1)]);
  await check(cache, [empty, family('vsphere_vm_small', 999, () => 1)]);
  assert.equal(cache.reused, 0);
  const gz = await cache.gzip([]);
  assert.equal(gunzipSync(gz).length, 0);
  await assert.rejects(
    cache.gzip([family('vsphere_vm_a', 1000, () => 1), family('vsphere_vm_a', 1, () => 1)]),
    /Duplicate metric family name vsphere_vm_a/,
  );
});

test('property: over a run of encodings, each one unzips to its own text', async () => {
  const spec = fc.array(
    fc.record({
      name: fc.constantFrom('vsphere_vm_a', 'vsphere_vm_b', 'vsphere_vm_c'),
      n: fc.constantFrom(0, 3, 999, 1000, 4096, 4097, 9000),
      shift: fc.constantFrom(0, 1, -0),
      // A VM whose label or state differs (-1: none).
      odd: fc.integer({ min: -1, max: 9000 }),
      states: fc.boolean(),
    }),
    { maxLength: 4 },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 6 }), async (rounds) => {
      const cache = new FamilyGzipCache();
      for (const r of rounds) {
        const seen = new Set<string>();
        const families = r
          .filter((f) => !seen.has(f.name) && seen.add(f.name))
          .map((f) =>
            f.states
              ? states(f.name, Math.ceil(f.n / 2), (i) => (i === f.odd ? 'off' : 'on'))
              : oddFamily(f.name, f.n, f.odd, (i) => (i === 0 ? f.shift : i + f.shift)),
          );
        await check(cache, families);
      }
    }),
    { numRuns: 40 },
  );
});

// `family` with the labels of sample `odd` written differently.
function oddFamily(name: string, n: number, odd: number, value: (i: number) => number): MetricFamily {
  const f = new MetricFamily(name, 'A test family.', 'gauge', ID);
  for (let i = 0; i < n; i++) f.add([`vm-name-${i}`, i === odd ? 'vm-"odd"' : `vm-${i}`], value(i));
  return f;
}
