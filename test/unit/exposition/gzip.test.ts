import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import {
  GZIP_LEVEL,
  MetricFamily,
  acceptsGzip,
  encodeFamilies,
  encodeFamilyChunks,
  gzipBody,
  gzipChunks,
} from '../../../src/exposition/index.js';

void describe('acceptsGzip', () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['', false],
    ['identity', false],
    ['br, deflate', false],
    ['gzip', true],
    ['GZIP', true],
    ['x-gzip', true],
    ['gzip, deflate, br', true],
    ['deflate,gzip', true],
    ['  deflate ,  gzip  ', true],
    ['gzip;q=0.5', true],
    ['gzip ; Q = 0.001', true],
    ['gzip;q=1.000', true],
    ['gzip;q=0', false],
    ['gzip;q=0.0', false],
    ['gzip; q=0.000', false],
    ['*', true],
    ['*;q=0.1', true],
    ['*;q=0', false],
    ['*, gzip;q=0', false],
    ['gzip;q=0, *', false],
    ['gzip;q=0.5, *;q=0', true],
    ['identity;q=1, *;q=0', false],
    ['gzip;q=2', false],
    ['gzip;q=abc', false],
    ['gzip;q=abc, *', true],
    ['gzipx', false],
    ['compress, gzip-foo', false],
  ];
  for (const [header, expected] of cases) {
    void test(`${JSON.stringify(header)} → ${expected}`, () => {
      assert.equal(acceptsGzip(header), expected);
    });
  }
});

void describe('gzipBody', () => {
  void test('output gunzips to the input', async () => {
    const input = Buffer.from(
      Array.from({ length: 5000 }, (_, i) => `metric{vm="vm-${i}-ünï☃"} ${i / 3}\n`).join(''),
      'utf8',
    );
    const gz = await gzipBody(input);
    assert.equal(gz[0], 0x1f);
    assert.equal(gz[1], 0x8b);
    assert.ok(gz.length < input.length / 4, 'repetitive exposition text compresses well');
    assert.ok(gunzipSync(gz).equals(input));
  });

  void test('empty body round-trips', async () => {
    assert.equal(gunzipSync(await gzipBody(Buffer.alloc(0))).length, 0);
  });

  void test('uses a speed-oriented level', () => {
    assert.ok(GZIP_LEVEL >= 1 && GZIP_LEVEL <= 4);
  });
});

void describe('gzipChunks', () => {
  void test('gzips chunks as one stream equal to the joined body; encodeFamilyChunks joins to encodeFamilies', async () => {
    const f = new MetricFamily('x_total', 'help', 'counter', ['i']);
    for (let i = 0; i < 20_000; i++) f.add([`label-${i}`], i);
    const chunks = encodeFamilyChunks([f]);
    assert.ok(chunks.length > 1, 'a body of several chunks');
    const joined = Buffer.concat(chunks);
    assert.deepEqual(joined, encodeFamilies([f]));
    assert.deepEqual(gunzipSync(await gzipChunks(chunks)), joined);
    assert.deepEqual(gunzipSync(await gzipChunks([])), Buffer.alloc(0));
  });
});
