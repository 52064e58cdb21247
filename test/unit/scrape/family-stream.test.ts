/** FamilyStream: a collection's families in registry order, handed over as soon as everything before them is known. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MetricFamily } from '../../../src/exposition/index.js';
import { FamilyStream } from '../../../src/scrape/family-stream.js';

const fam = (name: string, samples = 1): MetricFamily => {
  const f = new MetricFamily(name, 'h', 'gauge', ['i']);
  for (let i = 0; i < samples; i++) f.add([String(i)], i);
  return f;
};

/** Reads `stream` in the background; `seen` grows as families are handed over. */
function reader(stream: FamilyStream): { seen: string[]; done: Promise<void> } {
  const seen: string[] = [];
  const done = (async () => {
    for await (const f of stream) seen.push(f.name);
  })();
  return { seen, done };
}

test('families come in registry order whatever order the parts emit in, each as soon as all before it are in', async () => {
  const stream = new FamilyStream(3);
  const { seen, done } = reader(stream);
  stream.emit(1, fam('b1'));
  stream.emit(2, fam('c1'));
  stream.end(2);
  await nextTurn();
  assert.deepEqual(seen, [], 'part 0 may still emit');
  stream.emit(0, fam('a1'));
  await nextTurn();
  assert.deepEqual(seen, ['a1'], 'a part in progress is handed over as it emits');
  stream.emit(0, fam('a2'));
  stream.end(0);
  await nextTurn();
  assert.deepEqual(seen, ['a1', 'a2', 'b1']);
  stream.emit(1, fam('b2'));
  stream.end(1);
  await nextTurn();
  assert.deepEqual(seen, ['a1', 'a2', 'b1', 'b2', 'c1'], 'no trailing families before finish');
  stream.finish([fam('t1', 3), fam('t2')]);
  await done;
  assert.deepEqual(seen, ['a1', 'a2', 'b1', 'b2', 'c1', 't1', 't2']);
  assert.equal(stream.samples, 9);
});

test('finish ends the parts that never ended (collectors that never ran)', async () => {
  const stream = new FamilyStream(2);
  const { seen, done } = reader(stream);
  stream.emit(1, fam('b1'));
  stream.finish([fam('success')]);
  await done;
  assert.deepEqual(seen, ['b1', 'success']);
});

test('once keep() is false every later collector family is dropped, even if keep() is true again; never the trailing ones', async () => {
  let keep = true;
  const stream = new FamilyStream(2, () => keep);
  const { seen, done } = reader(stream);
  stream.emit(0, fam('a1'));
  await nextTurn();
  keep = false;
  stream.emit(0, fam('a2', 5));
  await nextTurn();
  keep = true;
  stream.emit(0, fam('a3'));
  stream.end(0);
  stream.emit(1, fam('b1'));
  stream.end(1);
  stream.finish([fam('success')]);
  await done;
  assert.deepEqual(seen, ['a1', 'success']);
  assert.equal(stream.dropped, true);
  assert.equal(stream.samples, 2);
});
