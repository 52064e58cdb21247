import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, inflateRawSync } from 'node:zlib';
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
    // A chunk larger than a member gets a member of its own size.
    const big = [
      Buffer.from('a'),
      Buffer.alloc(3 * 1024 * 1024, 'b'),
      Buffer.from('c'),
      Buffer.alloc(3000, 'd'),
    ];
    assert.deepEqual(gunzipSync(await gzipChunks(big)), Buffer.concat(big));
  });

  void test('chunks of every size, written into one reused buffer, read back as the body they made', async () => {
    // As the encoder hands them with reuse: each chunk is overwritten once the next is asked for.
    const shared = Buffer.alloc(70_000);
    const made: Buffer[] = [];
    // Park–Miller: exact in doubles, and its bytes do not repeat with a short period.
    let seed = 7;
    const next = (): number => (seed = (seed * 48271) % 2147483647);
    function* reused(): Generator<Buffer> {
      let total = 0;
      while (total < 2.5 * 1024 * 1024) {
        const n = 1 + (next() % 69_999);
        for (let i = 0; i < n; i++) shared[i] = 32 + (next() % 95);
        made.push(Buffer.from(shared.subarray(0, n)));
        total += n;
        yield shared.subarray(0, n);
      }
    }
    assert.deepEqual(gunzipSync(await gzipChunks(reused())), Buffer.concat(made));
    // A small body is one member, as small bodies always were.
    const small = Buffer.from('vsphere_up 0\n'.repeat(200));
    const gz = await gzipChunks([small.subarray(0, 1000), small.subarray(1000)]);
    assert.deepEqual(gunzipSync(gz), small);
    assert.equal(gz.indexOf(Buffer.from([0x1f, 0x8b, 8]), 1), -1, 'one member');
  });

  void test('a body of several MiB becomes several members, in order, that read as one body', async () => {
    const f = new MetricFamily('x_total', 'help', 'counter', ['i']);
    for (let i = 0; i < 150_000; i++) f.add([`label-${i}`], i);
    const chunks = encodeFamilyChunks([f]);
    const joined = Buffer.concat(chunks);
    assert.ok(joined.length > 4 * 1024 * 1024, 'more than four members of 1 MiB');
    const gz = await gzipChunks(chunks);
    assert.deepEqual(gunzipSync(gz), joined);
    // The first member ends (10-byte header, deflate data, 8-byte trailer) well before the body does.
    const first = inflateRawSync(gz.subarray(10), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    assert.ok(
      first.buffer.length > 512 * 1024 && first.buffer.length <= 1024 * 1024,
      'a member of about 1 MiB',
    );
    assert.deepEqual(first.buffer, joined.subarray(0, first.buffer.length));
    assert.deepEqual(
      gz.subarray(10 + first.engine.bytesWritten + 8, 10 + first.engine.bytesWritten + 11),
      Buffer.from([0x1f, 0x8b, 8]),
    );
  });
});
