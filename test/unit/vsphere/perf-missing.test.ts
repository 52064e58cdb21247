/**
 * A QueryPerf naming an entity deleted since the inventory saw it: vCenter faults the whole call with
 * ManagedObjectNotFound. runBatches sends the rest again, so one deleted VM costs only its own samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runBatches, withoutMissing } from '../../../src/vsphere/perf-batches.js';
import type { PerfQuery } from '../../../src/vsphere/perf-manager.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { faultToError } from '../../../src/vsphere/soap/faults.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const notFound = (fields: string): VsphereError =>
  faultToError(
    parseXml(
      `<Fault ${XSI}><faultcode>ServerFaultCode</faultcode><faultstring>The object has already been deleted</faultstring>` +
        `<detail><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound">${fields}</ManagedObjectNotFoundFault></detail></Fault>`,
    ),
    'QueryPerf',
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
  const other = faultToError(
    parseXml(
      `<Fault ${XSI}><faultstring>x</faultstring><detail><InvalidArgumentFault xsi:type="InvalidArgument"><obj type="VirtualMachine">vm-1</obj></InvalidArgumentFault></detail></Fault>`,
    ),
    'QueryPerf',
  );
  assert.equal(other.missing, undefined);
});

test('withoutMissing: the named entity out (all its parts); unnamed: halves; a lone entity dropped; named elsewhere: undefined', () => {
  const batch = [vm(0), vm(1), { ...vm(1), counterIds: [3] }, vm(2)];
  const told: string[] = [];
  const tell = (e: PerfQuery['entity']): number => told.push(e.value);
  assert.deepEqual(withoutMissing(batch, { type: 'VirtualMachine', value: 'vm-1' }, tell), [[vm(0), vm(2)]]);
  assert.deepEqual(told, ['vm-1']);
  assert.deepEqual(withoutMissing(batch, undefined, tell), [batch.slice(0, 2), batch.slice(2)]);
  assert.deepEqual(withoutMissing([vm(5), { ...vm(5), counterIds: [9] }], undefined, tell), []);
  assert.deepEqual(told, ['vm-1', 'vm-5']);
  // The same moid of another type, or the PerformanceManager: not this batch's doing.
  assert.equal(withoutMissing(batch, { type: 'HostSystem', value: 'vm-1' }, tell), undefined);
  assert.equal(withoutMissing(batch, { type: 'PerformanceManager', value: 'PerfMgr' }, tell), undefined);
  assert.deepEqual(told, ['vm-1', 'vm-5']);
});

test('runBatches: whatever entities vCenter has lost, every other entity is answered exactly once, each lost one told once, calls bounded', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 700 }),
      fc.uniqueArray(fc.nat({ max: 699 }), { maxLength: 6 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 4 }),
      async (n, lostIdx, named, workers) => {
        const queries = Array.from({ length: n }, (_, i) => vm(i));
        const lost = new Set(lostIdx.filter((i) => i < n).map((i) => `vm-${i}`));
        const answered: string[] = [];
        const told: string[] = [];
        let calls = 0;
        await runBatches(queries, {
          size: { objects: 256, metrics: 50_000 },
          workers,
          send: async (batch) => {
            calls++;
            await Promise.resolve();
            const hit = batch.find((q) => lost.has(q.entity.value));
            if (hit) throw notFound(named ? `<obj type="VirtualMachine">${hit.entity.value}</obj>` : '');
            for (const q of batch) answered.push(q.entity.value);
          },
          onMissing: (e) => void told.push(e.value),
        });
        const want = queries.map((q) => q.entity.value).filter((v) => !lost.has(v));
        assert.deepEqual(answered.toSorted(), want.toSorted());
        assert.deepEqual(told.toSorted(), [...lost].toSorted());
        const batches = Math.ceil(n / 256);
        // Named: one more call per lost entity. Unnamed: at most two per halving step (log2 256 = 8) and the last.
        assert.ok(calls <= batches + lost.size * (named ? 1 : 2 * 8 + 1), `${calls} calls`);
      },
    ),
    { numRuns: 150 },
  );
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
