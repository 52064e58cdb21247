/** StreamedAnswer: a collection's answer with all of its collectors' families or none of them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MetricFamily, type EncodedBody } from '../../../src/exposition/index.js';
import { StreamedAnswer } from '../../../src/scrape/streamed-answer.js';

const fam = (name: string, samples = 2): MetricFamily => {
  const f = new MetricFamily(name, 'h', 'gauge', ['i']);
  for (let i = 0; i < samples; i++) f.add([String(i)], i);
  return f;
};

const familiesIn = (e: EncodedBody): string[] => {
  const text = 'gzip' in e ? gunzipSync(e.gzip).toString() : Buffer.concat(e.text).toString();
  return [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
};

test('read: every collector family, then the trailing ones; gzip or text as the readers asked', async () => {
  for (const gzipOnly of [true, false]) {
    const answer = new StreamedAnswer(
      2,
      () => false,
      () => gzipOnly,
    );
    void answer.start();
    answer.families.emit(1, fam('b'));
    answer.families.emit(0, fam('a'));
    answer.families.end(0);
    answer.families.end(1);
    const { encoded, samples } = await answer.finish([fam('vsphere_up', 1)]);
    assert.equal('gzip' in encoded, gzipOnly);
    assert.deepEqual(familiesIn(encoded), ['a', 'b', 'vsphere_up']);
    assert.equal(samples, 5);
  }
});

/**
 * A 3-part collection whose collectors emit a, b, c while `unread` goes false → true after a (and,
 * with `readAgain`, back to false before c): the families of its answer.
 */
async function cutAfterFirst(readAgain: boolean): Promise<{ families: string[]; samples: number }> {
  let unread = false;
  const answer = new StreamedAnswer(
    3,
    () => unread,
    () => true,
  );
  void answer.start();
  answer.families.emit(0, fam('a'));
  answer.families.end(0);
  await nextTurn();
  unread = true;
  answer.families.emit(1, fam('b'));
  answer.families.end(1);
  await nextTurn();
  if (readAgain) unread = false;
  answer.families.emit(2, fam('c'));
  answer.families.end(2);
  const { encoded, samples } = await answer.finish([fam('vsphere_up', 1)]);
  return { families: familiesIn(encoded), samples };
}

test('unread when it finishes (cut, no waiter left): the trailing families only, though some were encoded', async () => {
  assert.deepEqual(await cutAfterFirst(false), { families: ['vsphere_up'], samples: 1 });
});

test('unread for a while, then read again (a late waiter): still all or none — none', async () => {
  assert.deepEqual(await cutAfterFirst(true), { families: ['vsphere_up'], samples: 1 });
});

test('never started (the inventory read failed): finish encodes the trailing families', async () => {
  const answer = new StreamedAnswer(
    2,
    () => false,
    () => false,
  );
  const { encoded } = await answer.finish([fam('vsphere_up', 1)]);
  assert.deepEqual(familiesIn(encoded), ['vsphere_up']);
});
