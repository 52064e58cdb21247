import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  encodeFamilies,
  FamilyGzipCache,
  gzipFamilies,
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
  const gz = await gzipFamilies(families, cache);
  assert.equal(gunzipSync(gz).toString(), encodeFamilies(families).toString());
}

test('an unchanged large family is put back; the text is always what the encoder writes', async () => {
  const cache = new FamilyGzipCache();
  const build = (cpu: number, power: string): MetricFamily[] => [
    family('vsphere_vm_info', 3000, () => 1),
    family('vsphere_vm_small', 10, (i) => i),
    states('vsphere_vm_power_state', 3000, () => power),
    family('vsphere_vm_cpu_usage_ratio', 3000, (i) => (i * cpu) / 7),
  ];
  await check(cache, build(1, 'on'));
  assert.equal(cache.reused, 0);
  // New, equal families (as the next collection builds them): info and power put back.
  await check(cache, build(2, 'on'));
  assert.equal(cache.reused, 2);
  // A state that changed: power is made again, and so is cpu (changed again).
  await check(cache, build(3, 'off'));
  assert.equal(cache.reused, 1);
  await check(cache, build(3, 'off'));
  assert.equal(cache.reused, 3);
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
    await check(cache, [f]);
    assert.equal(cache.reused, 0, what);
    // Made again from the changed family, which is then kept: asked again, it is put back.
    await check(cache, [f]);
    assert.equal(cache.reused, 1, `${what}, asked again`);
    await check(cache, [family('vsphere_vm_x', 2000, base)]);
  }
  const relabelled = new MetricFamily('vsphere_vm_x', 'A test family.', 'gauge', ID);
  for (let i = 0; i < 2000; i++) relabelled.add([`vm-name-${i}`, i === 3 ? 'vm-"3"' : `vm-${i}`], base(i));
  await check(cache, [relabelled]);
  assert.equal(cache.reused, 0, 'one label value');
});

test('families of several members, put back between families made again, keep their order', async () => {
  const cache = new FamilyGzipCache();
  // ~2.4 MiB of text each: three members per family, two input buffers reused across put-backs.
  const build = (round: number): MetricFamily[] =>
    ['a', 'b', 'c', 'd', 'e'].map((n, k) =>
      family(`vsphere_vm_${n}_bytes`, 40_000, (i) => (k % 2 === 0 ? i : i + round)),
    );
  for (let round = 0; round < 3; round++) {
    await check(cache, build(round));
    assert.equal(cache.reused, round === 0 ? 0 : 3);
  }
});

test('empty and small families are never kept; a duplicate name fails the encoding', async () => {
  const cache = new FamilyGzipCache();
  const empty = new MetricFamily('vsphere_vm_empty', 'Empty.', 'gauge', ID);
  await check(cache, [empty, family('vsphere_vm_small', 999, () => 1)]);
  await check(cache, [empty, family('vsphere_vm_small', 999, () => 1)]);
  assert.equal(cache.reused, 0);
  const gz = await gzipFamilies([], cache);
  assert.equal(gunzipSync(gz).length, 0);
  await assert.rejects(
    gzipFamilies([family('vsphere_vm_a', 1000, () => 1), family('vsphere_vm_a', 1, () => 1)], cache),
    /Duplicate metric family name vsphere_vm_a/,
  );
});

test('property: over a run of encodings, each one unzips to its own text', async () => {
  const spec = fc.array(
    fc.record({
      name: fc.constantFrom('vsphere_vm_a', 'vsphere_vm_b', 'vsphere_vm_c'),
      n: fc.constantFrom(0, 3, 999, 1000, 1500),
      shift: fc.constantFrom(0, 1, -0),
    }),
    { maxLength: 4 },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 5 }), async (rounds) => {
      const cache = new FamilyGzipCache();
      for (const r of rounds) {
        const seen = new Set<string>();
        const families = r
          .filter((f) => !seen.has(f.name) && seen.add(f.name))
          .map((f) => family(f.name, f.n, (i) => (i === 0 ? f.shift : i + f.shift)));
        await check(cache, families);
      }
    }),
    { numRuns: 60 },
  );
});
