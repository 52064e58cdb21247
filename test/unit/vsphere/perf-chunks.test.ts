import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkQueries } from '../../../src/vsphere/perf-batches.js';

test('chunkQueries never exceeds the limit and keeps every (entity, counter) pair exactly once', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }),
      fc.integer({ min: 1, max: 64 }),
      (sizes, limit) => {
        const queries = sizes.map((n, i) => ({
          entity: { type: 'VirtualMachine', value: `vm-${i}` },
          counterIds: Array.from({ length: n }, (_, k) => k + 1),
        }));
        const chunks = chunkQueries(queries, limit);
        const seen: string[] = [];
        for (const chunk of chunks) {
          const size = chunk.reduce((s, q) => s + q.counterIds.length, 0);
          assert.ok(size <= limit && size > 0);
          for (const q of chunk) for (const id of q.counterIds) seen.push(`${q.entity.value}/${id}`);
        }
        const expected = queries.flatMap((q) => q.counterIds.map((id) => `${q.entity.value}/${id}`));
        assert.deepEqual(seen, expected);
        // Packing is tight: only the last chunk may be below the limit.
        for (const chunk of chunks.slice(0, -1))
          assert.equal(
            chunk.reduce((s, q) => s + q.counterIds.length, 0),
            limit,
          );
      },
    ),
  );
});

test('chunkQueries splits per-instance ("*") counter ids too, keeping each id and its kind exactly once', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10 })), { maxLength: 20 }),
      fc.integer({ min: 1, max: 16 }),
      (sizes, limit) => {
        const queries = sizes.map(([a, b], i) => ({
          entity: { type: 'VirtualMachine', value: `vm-${i}` },
          counterIds: Array.from({ length: a }, (_, k) => k + 1),
          instanceCounterIds: Array.from({ length: b }, (_, k) => 100 + k),
        }));
        const seen: string[] = [];
        for (const chunk of chunkQueries(queries, limit)) {
          const size = chunk.reduce(
            (s, q) => s + q.counterIds.length + (q.instanceCounterIds?.length ?? 0),
            0,
          );
          assert.ok(size <= limit && size > 0);
          for (const q of chunk) {
            for (const id of q.counterIds) seen.push(`${q.entity.value}/${id}`);
            for (const id of q.instanceCounterIds ?? []) seen.push(`${q.entity.value}/*${id}`);
          }
        }
        const expected = queries.flatMap((q) => [
          ...q.counterIds.map((id) => `${q.entity.value}/${id}`),
          ...q.instanceCounterIds.map((id) => `${q.entity.value}/*${id}`),
        ]);
        assert.deepEqual(seen, expected);
      },
    ),
  );
});
