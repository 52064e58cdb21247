import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkQueries } from '../../../src/vsphere/perf-manager.js';

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
