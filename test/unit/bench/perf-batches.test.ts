import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rebatchQueryPerf } from '../../../bench/perf-batches.js';

const PREFIX =
  '<?xml version="1.0"?><Envelope><Body><QueryPerf xmlns="urn:vim25"><_this type="PerformanceManager">PerfMgr</_this>';
const SUFFIX = '</QueryPerf></Body></Envelope>';

function spec(entity: string, ids: number[], interval = 20, instance = ''): string {
  return (
    `<querySpec><entity type="VirtualMachine">${entity}</entity><maxSample>1</maxSample>` +
    ids
      .map((id) => `<metricId><counterId>${id}</counterId><instance>${instance}</instance></metricId>`)
      .join('') +
    `<intervalId>${interval}</intervalId></querySpec>`
  );
}

const body = (...specs: string[]) => Buffer.from(`${PREFIX}${specs.join('')}${SUFFIX}`);
const specsOf = (b: Buffer) =>
  [...b.toString().matchAll(/<querySpec>[\s\S]*?<\/querySpec>/g)].map((m) => m[0]);

void describe('rebatchQueryPerf', () => {
  it('merges an entity split over requests into one spec with all its ids, once each, keeping the envelope', () => {
    const out = rebatchQueryPerf(
      [body(spec('vm-1', [1, 2]), spec('vm-2', [1])), body(spec('vm-1', [3, 1]))],
      {
        objectsPerCall: 256,
        maxQueryMetrics: 256,
      },
    );
    assert.equal(out.bodies.length, 1);
    const text = out.bodies[0]!.toString();
    assert.ok(text.startsWith(PREFIX) && text.endsWith(SUFFIX));
    assert.deepEqual(specsOf(out.bodies[0]!), [spec('vm-1', [1, 2, 3]), spec('vm-2', [1])]);
    assert.deepEqual([out.realtimeObjects, out.historicalObjects, out.metricIds], [2, 0, 4]);
  });

  it('packs realtime specs by object count, whatever their number of ids', () => {
    const vms = Array.from({ length: 5 }, (_, i) => spec(`vm-${i}`, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const out = rebatchQueryPerf([body(...vms)], { objectsPerCall: 2, maxQueryMetrics: 4 });
    assert.deepEqual(
      out.bodies.map((b) => specsOf(b).length),
      [2, 2, 1],
    );
  });

  it('packs historical specs by metric count, splitting an entity where needed, apart from realtime ones', () => {
    const out = rebatchQueryPerf(
      [body(spec('ds-1', [1, 2, 3], 300), spec('vm-1', [1]), spec('ds-2', [1, 2, 3], 300))],
      {
        objectsPerCall: 256,
        maxQueryMetrics: 4,
      },
    );
    assert.deepEqual(
      out.bodies.map((b) => specsOf(b)),
      [
        [spec('vm-1', [1])],
        [spec('ds-1', [1, 2, 3], 300), spec('ds-2', [1], 300)],
        [spec('ds-2', [2, 3], 300)],
      ],
    );
    assert.deepEqual([out.realtimeObjects, out.historicalObjects], [1, 2]);
  });

  it('keeps one entity asked at two intervals as two objects', () => {
    const out = rebatchQueryPerf([body(spec('vm-1', [1]), spec('vm-1', [1], 300))], {
      objectsPerCall: 256,
      maxQueryMetrics: 256,
    });
    assert.deepEqual([out.realtimeObjects, out.historicalObjects, out.bodies.length], [1, 1, 2]);
  });

  it('gives nothing for no QueryPerf, and refuses a batch size below 1', () => {
    assert.deepEqual(rebatchQueryPerf([], { objectsPerCall: 256, maxQueryMetrics: 256 }).bodies, []);
    assert.throws(() => rebatchQueryPerf([], { objectsPerCall: 0, maxQueryMetrics: 256 }), /at least 1/);
  });
});
