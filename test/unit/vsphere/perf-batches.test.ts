/**
 * QueryPerf batching: the plan (objects per call, counters per object) and the adaptive split of a
 * batch vCenter refuses, against a fake vCenter that refuses any QueryPerf above N objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { setImmediate as tick } from 'node:timers/promises';
import { silentLogger } from '../../../src/log/logger.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import {
  isBatchRefusal,
  packQueries,
  REALTIME_MAX_METRICS,
  shrink,
  sizeOf,
} from '../../../src/vsphere/perf-batches.js';
import { Slots } from '../../../src/vsphere/perf-slots.js';
import { PerfManager, type PerfQuery, type PerfSample } from '../../../src/vsphere/perf-manager.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import type { SoapBody } from '../../../src/vsphere/soap/envelope.js';
import { parseXml, type StreamSpec } from '../../../src/vsphere/soap/xml.js';
import { xmlLimits } from '../../../src/vsphere/soap/xml-limits.js';
import { bodyText } from '../../harness/soap-body.js';
import { faultError } from '../../harness/fault-bodies.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
/** Hands `returnval` over to `stream` as the transport does: parsed at its depth (Envelope > Body > response). */
const streamed = (stream: StreamSpec, returnval: string): void =>
  void parseXml(
    `<Envelope><Body><QueryPerfResponse>${returnval}</QueryPerfResponse></Body></Envelope>`,
    stream,
  );
const COUNTERS = Array.from({ length: 17 }, (_, i) => i + 1);
const vms = (n: number, counterIds: readonly number[] = COUNTERS): PerfQuery[] =>
  Array.from({ length: n }, (_, i) => ({ entity: { type: 'VirtualMachine', value: `vm-${i}` }, counterIds }));

const fault = (type: string | undefined, text: string): VsphereError => faultError(type, text);

// What our own parser says of an answer with more elements than its bounds allow (parsed once).
let flood: unknown;
const tooManyElements = (): unknown => {
  if (flood) return flood;
  try {
    parseXml(`<r>${'<a/>'.repeat(300_000)}</r>`, undefined, xmlLimits(1024 * 1024));
  } catch (e) {
    return (flood = e);
  }
  throw new Error('the flood parsed');
};

const RESTRICTED =
  "This operation is restricted by the administrator - 'vpxd.stats.maxQueryMetrics'. Contact your system administrator.";

/** Each kind of refusal a batch above N objects may meet. */
const REFUSALS: { name: string; error: () => unknown }[] = [
  {
    name: 'RestrictedByAdministrator (maxQueryMetrics)',
    error: () => fault('RestrictedByAdministrator', RESTRICTED),
  },
  { name: 'untyped fault naming maxQueryMetrics', error: () => fault(undefined, RESTRICTED) },
  {
    name: 'InvalidArgument',
    error: () => fault('InvalidArgument', 'A specified parameter was not correct: querySpec'),
  },
  {
    name: 'HTTP 500 without a fault',
    error: () =>
      new VsphereError('VSPHERE_HTTP_STATUS', 'QueryPerf: HTTP 500 (text/html) from vCenter', {
        statusCode: 500,
      }),
  },
  { name: 'too many XML elements (our parser bounds)', error: tooManyElements },
  {
    name: 'response over the byte cap',
    error: () => new VsphereError('VSPHERE_RESPONSE_TOO_LARGE', 'QueryPerf: response over 1048576 bytes'),
  },
];

interface Call {
  objects: number;
  metrics: number;
  csv: boolean;
  refused: boolean;
}

/**
 * A vCenter whose QueryPerf answers one sample per asked (entity, counter), and refuses a request
 * of more than `maxObjects` entities (or `maxMetrics` ids) with `refusal()` — after streaming half
 * of its answer when `midway`, as an answer cut at a byte or element bound does.
 */
function fakeVcenter(opts: {
  maxObjects?: number;
  maxMetrics?: number;
  refusal: () => unknown;
  midway?: boolean;
  /** The call with this index (from 0) is aborted instead of answered, once. */
  abortAt?: number;
}) {
  const calls: Call[] = [];
  const state = { inFlight: 0, maxInFlight: 0 };
  const session = { generation: 1 };
  const client = {
    session,
    logger: silentLogger(),
    content: () => Promise.resolve({ perfManager: { type: 'PerformanceManager', value: 'PerfMgr' } }),
    invoke: async (method: string, _self: unknown, sent: SoapBody, _signal: unknown, stream: StreamSpec) => {
      assert.equal(method, 'QueryPerf');
      const body = bodyText(sent);
      state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
      try {
        await tick();
        const specs = [
          ...body.matchAll(/<querySpec><entity type="(\w+)">([^<]+)<\/entity>(.*?)<\/querySpec>/g),
        ];
        const metrics = specs.reduce((n, m) => n + [...m[3]!.matchAll(/<counterId>/g)].length, 0);
        const refused =
          specs.length > (opts.maxObjects ?? Infinity) || metrics > (opts.maxMetrics ?? Infinity);
        calls.push({ objects: specs.length, metrics, csv: body.includes('<format>csv'), refused });
        if (!refused && calls.length - 1 === opts.abortAt) {
          opts.abortAt = undefined;
          throw new VsphereError('VSPHERE_ABORTED', 'deadline');
        }
        const answered = refused ? (opts.midway ? specs.slice(0, specs.length >> 1) : []) : specs;
        const csv = body.includes('<format>csv');
        for (const [, type, moid, ids] of answered) {
          const series = [...ids!.matchAll(/<counterId>(\d+)<\/counterId>/g)]
            .map(
              ([, id]) =>
                `<value${csv ? '' : ' xsi:type="PerfMetricIntSeries"'}><id><counterId>${id}</counterId><instance></instance></id><value>${id}</value></value>`,
            )
            .join('');
          const info = csv
            ? '<sampleInfoCSV>20,2026-12-06T12:00:00Z</sampleInfoCSV>'
            : '<sampleInfo><timestamp>2026-12-06T12:00:00Z</timestamp><interval>20</interval></sampleInfo>';
          streamed(
            stream,
            `<returnval ${XSI} xsi:type="PerfEntityMetric${csv ? 'CSV' : ''}"><entity type="${type}">${moid}</entity>${info}${series}</returnval>`,
          );
        }
        if (refused) throw opts.refusal();
        return parseXml('<QueryPerfResponse/>');
      } finally {
        state.inFlight--;
      }
    },
  } as unknown as VimClient;
  return { client, calls, session, state };
}

const keysOf = (samples: PerfSample[]): string[] => samples.map((s) => `${s.entity.value}/${s.counterId}`);
const expectedKeys = (queries: PerfQuery[]): string[] =>
  queries.flatMap((q) => q.counterIds.map((id) => `${q.entity.value}/${id}`));

async function scrape(perf: PerfManager, queries: PerfQuery[]): Promise<PerfSample[]> {
  const got: PerfSample[] = [];
  await perf.queryRealtime(queries, undefined, (s) => got.push(s));
  return got;
}

test('plan: 1,000 VMs × 17 counters → 4 realtime calls of ≤ 256 objects, each object with all its counters', () => {
  const batches = packQueries(vms(1000), { objects: 256, metrics: REALTIME_MAX_METRICS });
  assert.deepEqual(
    batches.map((b) => sizeOf(b)),
    [
      { objects: 256, metrics: 256 * 17 },
      { objects: 256, metrics: 256 * 17 },
      { objects: 256, metrics: 256 * 17 },
      { objects: 232, metrics: 232 * 17 },
    ],
  );
  for (const b of batches) for (const q of b) assert.deepEqual(q.counterIds, COUNTERS);
});

test('plan: never more objects or metric ids than allowed; every (entity, id) pair once, in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 8 })), { maxLength: 60 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 80 }),
      (sizes, objects, metrics) => {
        const queries = sizes.map(([a, b], i) => ({
          entity: { type: 'VirtualMachine', value: `vm-${i}` },
          counterIds: Array.from({ length: a }, (_, k) => k + 1),
          instanceCounterIds: Array.from({ length: b }, (_, k) => 100 + k),
        }));
        const seen: string[] = [];
        for (const batch of packQueries(queries, { objects, metrics })) {
          const s = sizeOf(batch);
          assert.ok(s.objects <= objects && s.metrics <= metrics && s.objects > 0);
          for (const q of batch) {
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

test('shrink: halves the size in use (256, 128, 64 …), or the refused batch when smaller; a single id cannot shrink', () => {
  const rt = { objects: 256, metrics: REALTIME_MAX_METRICS };
  assert.deepEqual(shrink(rt, { objects: 256, metrics: 4352 }), {
    objects: 128,
    metrics: REALTIME_MAX_METRICS,
  });
  // A 104-object remainder refused under 128 goes to 64, not 52.
  assert.deepEqual(shrink({ ...rt, objects: 128 }, { objects: 104, metrics: 1768 })?.objects, 64);
  // A 40-object tail refused under 128 goes to 20.
  assert.deepEqual(shrink({ ...rt, objects: 128 }, { objects: 40, metrics: 680 })?.objects, 20);
  // A lone entity: by metric id.
  assert.deepEqual(shrink({ ...rt, objects: 1 }, { objects: 1, metrics: 17 }), { objects: 1, metrics: 9 });
  assert.equal(shrink({ ...rt, objects: 1 }, { objects: 1, metrics: 1 }), undefined);
});

test('isBatchRefusal: the limit, InvalidArgument, HTTP 500 and our size bounds; not other faults', () => {
  for (const r of REFUSALS) assert.ok(isBatchRefusal(r.error()), r.name);
  assert.ok(!isBatchRefusal(fault('constructor', 'A fault of type constructor.')));
  assert.ok(!isBatchRefusal(fault('NotAuthenticated', 'The session is not authenticated.')));
  assert.ok(!isBatchRefusal(new VsphereError('VSPHERE_HTTP_STATUS', 'HTTP 503', { statusCode: 503 })));
  assert.ok(!isBatchRefusal(new VsphereError('VSPHERE_ABORTED', 'deadline')));
  assert.ok(!isBatchRefusal(new Error('plain')));
});

for (const r of REFUSALS)
  for (const midway of [false, true])
    test(`refused above 100 objects (${r.name}${midway ? ', cut half-way' : ''}): every series once, halves in the same scrape, size kept`, async () => {
      const { client, calls } = fakeVcenter({ maxObjects: 100, refusal: r.error, midway });
      const perf = new PerfManager(client, { concurrency: 4 });
      const queries = vms(1000);
      const first = await scrape(perf, queries);
      assert.deepEqual(keysOf(first).sort(), expectedKeys(queries).sort(), 'every series, none twice');
      const refused = calls.filter((c) => c.refused);
      assert.ok(refused.length > 0 && refused.every((c) => c.objects > 100));
      // Smaller batches were sent in this scrape: 256 → 128 → 64; every answered call is within the limit.
      assert.ok(calls.some((c) => !c.refused && c.objects === 64));
      assert.ok(calls.filter((c) => !c.refused).every((c) => c.objects <= 100));
      // Bounded: at most one refused call per worker and halving step (256 → 128 → 64); InvalidArgument
      // to a csv request is asked again without csv first (it may be the format that was refused).
      const perStep = r.name === 'InvalidArgument' ? 2 : 1;
      assert.ok(refused.length <= 4 * 2 * perStep, `${refused.length} refused calls`);

      calls.length = 0;
      const second = await scrape(perf, queries);
      assert.deepEqual(keysOf(second).sort(), expectedKeys(queries).sort());
      assert.deepEqual(
        calls.map((c) => [c.objects, c.refused]),
        Array.from({ length: 16 }, (_, i) => [i < 15 ? 64 : 1000 - 15 * 64, false]),
        'the next scrape sends ceil(1000 / 64) calls of the kept size, none refused',
      );
    });

test('a lone batch that vCenter refuses sends its parts side by side, within perf_concurrency', async () => {
  const { client, calls, state } = fakeVcenter({ maxObjects: 50, refusal: REFUSALS[0]!.error });
  const perf = new PerfManager(client, { concurrency: 3 });
  // 200 VMs are one batch of 256 objects at most: only the refusal makes more.
  const got = await scrape(perf, vms(200));
  assert.deepEqual(keysOf(got).sort(), expectedKeys(vms(200)).sort());
  assert.equal(calls[0]!.objects, 200);
  assert.equal(state.maxInFlight, 3);
});

test('the kept size lasts for the session: a new session starts again from 256 objects', async () => {
  const { client, calls, session } = fakeVcenter({ maxObjects: 200, refusal: REFUSALS[0]!.error });
  const perf = new PerfManager(client, { concurrency: 1 });
  await scrape(perf, vms(512));
  calls.length = 0;
  await scrape(perf, vms(512));
  assert.deepEqual(
    calls.map((c) => c.objects),
    [128, 128, 128, 128],
  );
  session.generation++;
  calls.length = 0;
  await scrape(perf, vms(512));
  assert.equal(calls[0]!.objects, 256);
});

test('the size that worked is kept even when the scrape then fails for another reason (its deadline)', async () => {
  // One worker: 256 refused, 128 refused, then batches of 64 answered until the tenth call is cut.
  const { client, calls } = fakeVcenter({ maxObjects: 100, refusal: REFUSALS[0]!.error, abortAt: 9 });
  const perf = new PerfManager(client, { concurrency: 1 });
  await assert.rejects(scrape(perf, vms(1000)), { code: 'VSPHERE_ABORTED' });
  calls.length = 0;
  await scrape(perf, vms(1000));
  assert.ok(
    calls.every((c) => c.objects <= 64 && !c.refused),
    JSON.stringify(calls.map((c) => c.objects)),
  );
});

test('perf_batch_objects sets the objects per call; no refusal, no split', async () => {
  const { client, calls } = fakeVcenter({ refusal: REFUSALS[0]!.error });
  const perf = new PerfManager(client, { batchObjects: 100, concurrency: 2 });
  const got = await scrape(perf, vms(1000));
  assert.equal(got.length, 17_000);
  assert.deepEqual(
    calls.map((c) => c.objects),
    Array.from({ length: 10 }, () => 100),
  );
});

test('a lone entity is split by metric id when even one object is refused; a refused single id fails', async () => {
  const { client, calls } = fakeVcenter({ maxMetrics: 5, refusal: REFUSALS[0]!.error });
  const perf = new PerfManager(client, { concurrency: 1 });
  const got = await scrape(perf, vms(3));
  assert.deepEqual(keysOf(got).sort(), expectedKeys(vms(3)).sort());
  assert.ok(calls.filter((c) => !c.refused).every((c) => c.metrics <= 5 && c.objects === 1));

  const never = fakeVcenter({ maxMetrics: 0, refusal: REFUSALS[0]!.error });
  await assert.rejects(
    new PerfManager(never.client, { concurrency: 4 }).queryRealtime(vms(1000), undefined, () => undefined),
    { code: 'VSPHERE_RESTRICTED_BY_ADMINISTRATOR' },
  );
  // A vCenter refusing everything costs a bounded number of calls, not one per metric id.
  assert.ok(never.calls.length < 200, `${never.calls.length} calls`);
});

test('any other error fails the collection without a split', async () => {
  const { client, calls } = fakeVcenter({ maxObjects: 100, refusal: () => fault('constructor', 'odd') });
  await assert.rejects(
    new PerfManager(client, { concurrency: 1 }).queryRealtime(vms(300), undefined, () => undefined),
    {
      code: 'VSPHERE_FAULT',
    },
  );
  assert.deepEqual(
    calls.map((c) => c.objects),
    [256],
  );
});

test('csv: InvalidArgument on a large batch is a size refusal, not a csv refusal; csv stays on', async () => {
  const { client, calls } = fakeVcenter({ maxObjects: 100, refusal: REFUSALS[2]!.error });
  const perf = new PerfManager(client, { concurrency: 1 });
  await scrape(perf, vms(200));
  calls.length = 0;
  await scrape(perf, vms(200));
  assert.ok(calls.length > 0 && calls.every((c) => c.csv && !c.refused), JSON.stringify(calls));
});

test('QueryPerf in flight for a target stays within perf_concurrency across collectors', async () => {
  const { client, state } = fakeVcenter({ refusal: REFUSALS[0]!.error });
  const perf = new PerfManager(client, { batchObjects: 10, concurrency: 3 });
  // The vm and host collectors query at the same time.
  await Promise.all([scrape(perf, vms(200)), scrape(perf, vms(50))]);
  assert.equal(state.maxInFlight, 3);
});

test('Slots: a wait for a slot ends at the signal, and hands no slot away', async () => {
  const slots = new Slots(1);
  let release!: () => void;
  const holder = slots.run(() => new Promise<void>((r) => (release = r)), undefined);
  const ac = new AbortController();
  const waiter = slots.run(() => Promise.resolve('never'), ac.signal);
  ac.abort();
  await assert.rejects(waiter, { code: 'VSPHERE_ABORTED' });
  release();
  await holder;
  assert.equal(await slots.run(() => Promise.resolve('free'), undefined), 'free');
});

test('Slots: a holder gives its slot back early (an answer in, still parsed); giving it twice frees one', async () => {
  const slots = new Slots(1);
  let finish!: () => void;
  let giveBack!: () => void;
  const first = slots.run(
    (release) =>
      new Promise<void>((r) => {
        giveBack = release;
        finish = r;
      }),
    undefined,
  );
  let secondRan = false;
  let thirdRan = false;
  let done2!: () => void;
  const second = slots.run(() => {
    secondRan = true;
    return new Promise<void>((r) => (done2 = r));
  }, undefined);
  const third = slots.run(() => {
    thirdRan = true;
    return Promise.resolve();
  }, undefined);
  await new Promise((r) => setImmediate(r));
  assert.equal(secondRan, false);
  giveBack();
  giveBack();
  await new Promise((r) => setImmediate(r));
  // The first still runs; its slot went to the second, and only to it.
  assert.equal(secondRan, true);
  assert.equal(thirdRan, false);
  finish();
  await first;
  assert.equal(thirdRan, false, 'the end of a holder that gave its slot back frees nothing');
  done2();
  await Promise.all([second, third]);
  assert.equal(thirdRan, true);
});

test('historical: chunked by maxQueryMetrics; a refused chunk is split and the smaller size kept', async () => {
  const { client, calls } = fakeVcenter({ maxMetrics: 40, refusal: REFUSALS[0]!.error });
  const perf = new PerfManager(client, { maxQueryMetrics: 64, concurrency: 4 });
  const clusters = Array.from({ length: 10 }, (_, i) => ({
    entity: { type: 'ClusterComputeResource', value: `domain-c${i}` },
    counterIds: [1, 2, 3, 4, 5, 6, 7, 8],
  }));
  const window = { startTime: 0, maxSample: 7 };
  const read = async (): Promise<string[]> => {
    const got: PerfSample[] = [];
    await perf.queryHistorical(clusters, window, undefined, (s) => got.push(s));
    return keysOf(got).sort();
  };
  // The fake answers historical specs too (one sample per id; its timestamp serves as the newest).
  assert.deepEqual(await read(), expectedKeys(clusters).sort());
  assert.ok(calls.some((c) => c.refused && c.metrics === 64));
  assert.ok(calls.every((c) => c.refused || c.metrics <= 40));
  calls.length = 0;
  assert.deepEqual(await read(), expectedKeys(clusters).sort());
  assert.ok(
    calls.every((c) => !c.refused && c.metrics <= 40),
    JSON.stringify(calls),
  );
});

test('historical: a chunk refused after half its answer was streamed delivers every series once', async () => {
  const { client, calls } = fakeVcenter({ maxMetrics: 40, refusal: REFUSALS[0]!.error, midway: true });
  const perf = new PerfManager(client, { maxQueryMetrics: 64, concurrency: 1 });
  const clusters = Array.from({ length: 10 }, (_, i) => ({
    entity: { type: 'ClusterComputeResource', value: `domain-c${i}` },
    counterIds: [1, 2, 3, 4, 5, 6, 7, 8],
  }));
  const got: PerfSample[] = [];
  await perf.queryHistorical(clusters, { startTime: 0, maxSample: 7 }, undefined, (s) => got.push(s));
  assert.ok(calls.some((c) => c.refused));
  assert.deepEqual(keysOf(got).sort(), expectedKeys(clusters).sort(), 'every series, none twice');
});

test('realtime: a slot goes back once an answer is in and shows an element, while it is parsed; a fault keeps it', async () => {
  const limit = 2;
  const state = { atVcenter: 0, maxAtVcenter: 0, active: 0, maxActive: 0, faulted: 0 };
  const client = {
    session: { generation: 1 },
    logger: silentLogger(),
    content: () => Promise.resolve({ perfManager: { type: 'PerformanceManager', value: 'PerfMgr' } }),
    invoke: async (_m: string, _self: unknown, sent: SoapBody, _signal: unknown, stream: StreamSpec) => {
      const body = bodyText(sent);
      state.maxAtVcenter = Math.max(state.maxAtVcenter, ++state.atVcenter);
      state.maxActive = Math.max(state.maxActive, ++state.active);
      try {
        await tick();
        state.atVcenter--;
        stream.onReceived?.();
        // The first two answers are faults in a 200 answer (csv refused): their retry must stay within the slot.
        if (body.includes('<format>csv') && state.faulted < 2) {
          state.faulted++;
          throw fault('InvalidArgument', 'csv');
        }
        // Parsed slowly, one entity per turn: meanwhile the next request may go.
        for (const [, type, moid, ids] of body.matchAll(
          /<querySpec><entity type="(\w+)">([^<]+)<\/entity>(.*?)<\/querySpec>/g,
        )) {
          const series = [...ids!.matchAll(/<counterId>(\d+)<\/counterId>/g)]
            .map(
              ([, id]) =>
                `<value><id><counterId>${id}</counterId><instance></instance></id><value>${id}</value></value>`,
            )
            .join('');
          streamed(
            stream,
            `<returnval ${XSI} xsi:type="PerfEntityMetric"><entity type="${type}">${moid}</entity>` +
              `<sampleInfo><timestamp>2026-12-06T12:00:00Z</timestamp><interval>20</interval></sampleInfo>${series}</returnval>`,
          );
          await tick();
        }
        return parseXml('<QueryPerfResponse/>');
      } finally {
        state.active--;
      }
    },
  } as unknown as VimClient;
  const perf = new PerfManager(client, { batchObjects: 4, concurrency: limit });
  const queries = vms(40, [1, 2, 3]);
  assert.deepEqual(keysOf(await scrape(perf, queries)).sort(), expectedKeys(queries).sort());
  assert.equal(state.faulted, 2);
  assert.ok(state.maxAtVcenter <= limit, `at most ${limit} calls at vCenter, saw ${state.maxAtVcenter}`);
  assert.ok(
    state.maxActive > limit,
    `a call went while an earlier answer was parsed (${state.maxActive} at once)`,
  );
});
