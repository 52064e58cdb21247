/**
 * A QueryPerf naming an entity deleted since the inventory saw it: vCenter faults the whole call with
 * ManagedObjectNotFound. runBatches sends the rest again, so one deleted VM costs only its own samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_UNNAMED_DROPS, runBatches } from '../../../src/vsphere/perf-batches.js';
import { afterNotFound } from '../../../src/vsphere/perf-missing.js';
import type { PerfQuery } from '../../../src/vsphere/perf-manager.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { faultError } from '../../harness/fault-bodies.js';

const notFound = (fields: string): VsphereError =>
  faultError('ManagedObjectNotFound', 'The object has already been deleted', fields);
/** Requests n entities make: 256 a request, or (wide: 40 counters each) 100 metric ids a request. */
const packed = (n: number, wide: boolean, objects = 256): number =>
  Math.max(Math.ceil(n / objects), wide ? Math.ceil((n * 40) / 100) : 0);
const restricted = (): VsphereError =>
  faultError(
    'RestrictedByAdministrator',
    "This operation is restricted by the administrator - 'vpxd.stats.maxQueryMetrics'.",
  );
const vm = (i: number): PerfQuery => ({
  entity: { type: 'VirtualMachine', value: `vm-${i}` },
  counterIds: [1, 2],
});

test('faultToError: ManagedObjectNotFound names the object of its detail; other faults name none', () => {
  const e = notFound('<obj type="VirtualMachine">vm-42</obj>');
  assert.equal(e.code, 'VSPHERE_MANAGED_OBJECT_NOT_FOUND');
  assert.deepEqual(e.missing, { type: 'VirtualMachine', value: 'vm-42' });
  assert.equal(notFound('').missing, undefined, 'older servers send no obj');
  assert.equal(notFound('<obj>vm-42</obj>').missing, undefined, 'an obj without its type names nothing');
  const long = notFound(`<obj type="${'T'.repeat(5000)}">${'v'.repeat(5000)}</obj>`).missing!;
  assert.ok(long.type.length <= 100 && long.value.length <= 200, 'what vCenter sends is cut');
  const other = faultError('InvalidArgument', 'x', '<obj type="VirtualMachine">vm-1</obj>');
  assert.equal(other.missing, undefined);
});

test('afterNotFound: the named entity out (all its parts); unnamed: halves, a lone entity dropped; named elsewhere: undefined', () => {
  const batch = [vm(0), vm(1), { ...vm(1), counterIds: [3] }, vm(2)];
  assert.deepEqual(afterNotFound(batch, { type: 'VirtualMachine', value: 'vm-1' }), {
    drop: vm(1).entity,
    resend: [[vm(0), vm(2)]],
  });
  assert.deepEqual(afterNotFound(batch, undefined), { resend: [batch.slice(0, 2), batch.slice(2)] });
  assert.deepEqual(afterNotFound([vm(5), { ...vm(5), counterIds: [9] }], undefined), {
    drop: vm(5).entity,
    resend: [],
  });
  // The same moid of another type, or the PerformanceManager: not this batch's doing.
  assert.equal(afterNotFound(batch, { type: 'HostSystem', value: 'vm-1' }), undefined);
  assert.equal(afterNotFound(batch, { type: 'PerformanceManager', value: 'PerfMgr' }), undefined);
});

test('runBatches: whatever entities vCenter has lost, every other entity is answered exactly once, each lost one told once, calls bounded', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 700 }),
      fc.uniqueArray(fc.nat({ max: 699 }), { maxLength: 6 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      fc.constantFrom(undefined, 50),
      async (n, lostIdx, named, workers, wide, refuseAbove) => {
        // Wide: 40 counters an entity and 100 metric ids a request, so entities are split over requests.
        const ids = Array.from({ length: wide ? 40 : 2 }, (_, i) => i + 1);
        const queries = Array.from({ length: n }, (_, i) => ({ ...vm(i), counterIds: ids }));
        const lost = new Set(lostIdx.filter((i) => i < n).map((i) => `vm-${i}`));
        const parts = new Map<string, number>();
        const told: string[] = [];
        let calls = 0;
        await runBatches(queries, {
          size: { objects: 256, metrics: wide ? 100 : 50_000 },
          workers,
          send: async (batch) => {
            calls++;
            await Promise.resolve();
            // A vCenter that also refuses large requests: the halves are sent in the same run.
            if (refuseAbove !== undefined && batch.length > refuseAbove) throw restricted();
            const hit = batch.find((q) => lost.has(q.entity.value));
            if (hit) throw notFound(named ? `<obj type="VirtualMachine">${hit.entity.value}</obj>` : '');
            for (const q of batch)
              parts.set(q.entity.value, (parts.get(q.entity.value) ?? 0) + q.counterIds.length);
          },
          onMissing: (e) => void told.push(e.value),
        });
        const want = queries.map((q) => q.entity.value).filter((v) => !lost.has(v));
        // Every counter of every other entity exactly once, over however many requests it was split.
        assert.deepEqual([...parts.keys()].toSorted(), want.toSorted());
        assert.ok([...parts.values()].every((c) => c === ids.length));
        assert.deepEqual(told.toSorted(), [...lost].toSorted(), 'each lost entity told once');
        const batches = packed(n, wide);
        // Named: one more call per lost entity's part. Unnamed: at most two per halving step (log2 256 = 8)
        // and the last. Refusals: 256 → 128 → 64 → 32, at most one refused call per worker and step.
        const refusals = refuseAbove === undefined ? 0 : 3 * workers;
        const smaller = refuseAbove === undefined ? batches : packed(n, wide, 32);
        assert.ok(calls <= smaller + refusals + lost.size * (named ? 2 : 2 * 8 + 1), `${calls} calls`);
      },
    ),
    {
      numRuns: 150,
      // 6 lost entities, each split over 2 requests that 3 workers have in flight together: each is
      // one drop of the 8 allowed to faults that name nothing, not one per request.
      examples: [[590, [412, 7, 357, 587, 360, 0], false, 3, true, undefined]],
    },
  );
});

test("runBatches: ManagedObjectNotFound naming nothing on every request (not one entity's doing) fails the run after a few drops, not after dropping all", async () => {
  let calls = 0;
  const told: string[] = [];
  await assert.rejects(
    runBatches(
      Array.from({ length: 1000 }, (_, i) => vm(i)),
      {
        size: { objects: 256, metrics: 50_000 },
        workers: 4,
        send: async () => {
          calls++;
          await Promise.resolve();
          throw notFound('');
        },
        onMissing: (e) => void told.push(e.value),
      },
    ),
    { code: 'VSPHERE_MANAGED_OBJECT_NOT_FOUND' },
  );
  assert.equal(told.length, MAX_UNNAMED_DROPS);
  assert.ok(calls < 100, `${calls} calls`);
});

test('runBatches: a ManagedObjectNotFound naming no entity of the batch (the PerformanceManager) fails the run as before', async () => {
  let calls = 0;
  await assert.rejects(
    runBatches(
      Array.from({ length: 300 }, (_, i) => vm(i)),
      {
        size: { objects: 256, metrics: 50_000 },
        workers: 1,
        send: () => {
          calls++;
          return Promise.reject(notFound('<obj type="PerformanceManager">PerfMgr</obj>'));
        },
      },
    ),
    { code: 'VSPHERE_MANAGED_OBJECT_NOT_FOUND' },
  );
  assert.equal(calls, 1);
});
