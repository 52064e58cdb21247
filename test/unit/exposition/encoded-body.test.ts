import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { encodeBody, encodeFamilyChunks, MetricFamily } from '../../../src/exposition/index.js';

function families(series: number): MetricFamily[] {
  const f = new MetricFamily('vsphere_test_bytes', 'A test family.', 'gauge', ['vm', 'vm_moid']);
  for (let i = 0; i < series; i++) f.add([`vm-name-${i}`, `vm-${i}`], i * 1024);
  const g = new MetricFamily('vsphere_test_info', 'Another.', 'gauge', ['vm']);
  for (let i = 0; i < series; i++) g.add([`vm-name-${i}`], 1);
  return [f, g];
}

test('within the limit the text is kept as the encoder makes it', async () => {
  const encoded = await encodeBody(families(100), 1024 * 1024);
  assert.ok('text' in encoded);
  assert.deepEqual(Buffer.concat(encoded.text), Buffer.concat(encodeFamilyChunks(families(100))));
});

test('past the limit only the gzip is kept, and it unzips to the same text (chunks made before and after the switch)', async () => {
  const whole = Buffer.concat(encodeFamilyChunks(families(20_000)));
  assert.ok(whole.length > 3 * 64 * 1024, 'several 64 KiB chunks');
  const encoded = await encodeBody(families(20_000), 100 * 1024);
  assert.ok('gzip' in encoded);
  assert.ok(encoded.gzip.length < whole.length / 4, 'compressed');
  assert.deepEqual(gunzipSync(encoded.gzip), whole);
});

test('a duplicate family name still fails the encoding after the switch to gzip', async () => {
  const [a] = families(20_000);
  const dup = new MetricFamily('vsphere_test_bytes', 'Again.', 'gauge', ['vm']);
  dup.add(['x'], 1);
  await assert.rejects(encodeBody([a!, dup], 1024), /Duplicate metric family name vsphere_test_bytes/);
});

test('gzip only: whatever its size, the body is gzipped as it is made and unzips to the same text', async () => {
  for (const series of [0, 100, 60_000]) {
    const whole = Buffer.concat(encodeFamilyChunks(families(series)));
    const encoded = await encodeBody(families(series), 64 * 1024 * 1024, true);
    assert.ok('gzip' in encoded);
    assert.deepEqual(gunzipSync(encoded.gzip), whole);
  }
  // Written as UTF-8 straight into gzip's buffers: multi-byte text and lone surrogates as Buffer.from writes them.
  const odd = new MetricFamily('vsphere_test_info', 'Odd names.', 'gauge', ['vm']);
  for (let i = 0; i < 40_000; i++) odd.add([`ünï☃-${i}-\u{1F600}${i % 7 === 0 ? '\ud800' : ''}`], 1);
  const oddGzip = await encodeBody([odd], 64 * 1024 * 1024, true);
  assert.ok('gzip' in oddGzip);
  assert.deepEqual(gunzipSync(oddGzip.gzip), Buffer.concat(encodeFamilyChunks([odd])));
  const [a] = families(60_000);
  const dup = new MetricFamily('vsphere_test_bytes', 'Again.', 'gauge', ['vm']);
  await assert.rejects(encodeBody([a!, dup], 1024, true), /Duplicate metric family name/);
});

test('families handed over as they are made (an AsyncIterable) give the same text, gzip and errors', async () => {
  async function* arriving(list: MetricFamily[]): AsyncGenerator<MetricFamily> {
    for (const f of list) {
      await new Promise((r) => setImmediate(r));
      yield f;
    }
  }
  const whole = Buffer.concat(encodeFamilyChunks(families(20_000)));
  const text = await encodeBody(arriving(families(20_000)), 64 * 1024 * 1024);
  assert.ok('text' in text);
  assert.deepEqual(Buffer.concat(text.text), whole);
  const past = await encodeBody(arriving(families(20_000)), 100 * 1024);
  assert.ok('gzip' in past);
  assert.deepEqual(gunzipSync(past.gzip), whole);
  const gz = await encodeBody(arriving(families(20_000)), 64 * 1024 * 1024, true);
  assert.ok('gzip' in gz);
  assert.deepEqual(gunzipSync(gz.gzip), whole);
  const [a] = families(2);
  const dup = new MetricFamily(a!.name, 'x', 'gauge', []);
  await assert.rejects(encodeBody(arriving([a!, dup]), 1024, true), /Duplicate metric family name/);
});
