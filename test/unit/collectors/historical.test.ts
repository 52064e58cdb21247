import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { collectHistorical, type HistoricalSpec } from '../../../src/collectors/historical.js';
import { HistoricalCache, HISTORICAL_TIMING } from '../../../src/collectors/historical-cache.js';
import type { MetricFamily } from '../../../src/exposition/index.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import { PerfManager } from '../../../src/vsphere/perf-manager.js';
import { buildInventory } from '../../../src/vsphere/inventory.js';
import { createClusterCollector } from '../../../src/collectors/cluster.js';
import { ALLOW_ALL } from '../../../src/collectors/collector.js';
import { parseXml, type StreamSpec } from '../../../src/vsphere/soap/xml.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const T0 = Date.parse('2026-11-27T12:00:00Z') / 1000;
const iso = (s: number): string => new Date(s * 1000).toISOString();

const SPEC: HistoricalSpec = {
  prefix: 'vsphere_cluster',
  labelNames: ['cluster', 'cluster_moid'],
  defs: [
    { counter: 'cpu.usagemhz.average', unit: 'megaHertz', metric: 'cpu_usage_5m_hertz', help: 'h.' },
    { counter: 'mem.consumed.average', unit: 'kiloBytes', metric: 'memory_consumed_5m_bytes', help: 'h.' },
    // Absent from the catalogue below: skipped, never queried.
    { counter: 'mem.usage.average', unit: 'percent', metric: 'memory_usage_5m_ratio', help: 'h.' },
  ],
};
const TARGETS = [
  { entity: { type: 'ClusterComputeResource', value: 'domain-c1' }, labels: ['C1', 'domain-c1'] },
  { entity: { type: 'ClusterComputeResource', value: 'domain-c2' }, labels: ['C2', 'domain-c2'] },
];

/**
 * A fake vCenter answering every historical QueryPerf with samples ending at `newest` (oldest first),
 * and CurrentTime with its clock, `skewSeconds` off ours.
 */
function fakeVcenter(skewSeconds = 0) {
  const state = { newest: T0, queries: [] as string[] };
  const client = {
    session: { generation: 1 },
    logger: pino({ level: 'silent' }),
    content: () => Promise.resolve({ perfManager: { type: 'PerformanceManager', value: 'PerfMgr' } }),
    invoke: (method: string, _self: unknown, body: string, _signal: unknown, stream: StreamSpec) => {
      if (method === 'CurrentTime')
        return Promise.resolve(
          parseXml(`<r><returnval>${iso(Date.now() / 1000 + skewSeconds)}</returnval></r>`),
        );
      assert.equal(method, 'QueryPerf');
      state.queries.push(body);
      for (const [, moid] of body.matchAll(/<entity type="ClusterComputeResource">([^<]+)</g)) {
        const ts = [state.newest - 300, state.newest];
        stream.onElement!(
          parseXml(
            `<returnval ${XSI} xsi:type="PerfEntityMetric"><entity type="ClusterComputeResource">${moid}</entity>` +
              ts
                .map(
                  (t) => `<sampleInfo><timestamp>${iso(t)}</timestamp><interval>300</interval></sampleInfo>`,
                )
                .join('') +
              `<value xsi:type="PerfMetricIntSeries"><id><counterId>6</counterId><instance></instance></id><value>1</value><value>${moid === 'domain-c1' ? 2000 : 3000}</value></value>` +
              // The newest consumed sample is not rolled up yet (-1): the older one is served.
              `<value xsi:type="PerfMetricIntSeries"><id><counterId>98</counterId><instance></instance></id><value>4</value><value>-1</value></value>` +
              '</returnval>',
          ),
        );
      }
      return Promise.resolve(parseXml('<QueryPerfResponse/>'));
    },
  } as unknown as VimClient;
  // The real PerfManager (batching by maxQueryMetrics: 256 without a vCenter setting) over the fake
  // client; only its catalogue is stubbed (read with the property collector, tested elsewhere).
  const perf = new PerfManager(client, {});
  perf.counters = () =>
    Promise.resolve(
      new Map([
        ['cpu.usagemhz.average', { key: 6, name: 'cpu.usagemhz.average', unit: 'megaHertz', statsType: '' }],
        ['mem.consumed.average', { key: 98, name: 'mem.consumed.average', unit: 'kiloBytes', statsType: '' }],
      ]),
    );
  return { state, client, ctx: { perf, signal: new AbortController().signal } };
}

const lines = (families: MetricFamily[]): string[] =>
  families.flatMap((f) => f.labelBlocks.map((b, i) => `${f.name}${b} ${f.values[i]}`));

test('one query for all targets, values in base units with their sample time; the cache serves the next scrape', async () => {
  const { state, ctx } = fakeVcenter();
  const cache = new HistoricalCache();
  const out = lines(await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + 30));
  assert.equal(state.queries.length, 1);
  assert.match(state.queries[0]!, /<intervalId>300<\/intervalId>/);
  assert.match(state.queries[0]!, new RegExp(`<startTime>${iso(T0 + 30 - 1800)}</startTime>`));
  assert.doesNotMatch(
    state.queries[0]!,
    /<counterId>24</,
    'counters missing from the catalogue are not asked for',
  );
  assert.deepEqual(out, [
    'vsphere_cluster_cpu_usage_5m_hertz{cluster="C1",cluster_moid="domain-c1"} 2000000000',
    'vsphere_cluster_cpu_usage_5m_hertz{cluster="C2",cluster_moid="domain-c2"} 3000000000',
    'vsphere_cluster_memory_consumed_5m_bytes{cluster="C1",cluster_moid="domain-c1"} 4096',
    'vsphere_cluster_memory_consumed_5m_bytes{cluster="C2",cluster_moid="domain-c2"} 4096',
    `vsphere_cluster_5m_sample_timestamp_seconds{cluster="C1",cluster_moid="domain-c1",counter="cpu.usagemhz.average"} ${T0}`,
    `vsphere_cluster_5m_sample_timestamp_seconds{cluster="C1",cluster_moid="domain-c1",counter="mem.consumed.average"} ${T0 - 300}`,
    `vsphere_cluster_5m_sample_timestamp_seconds{cluster="C2",cluster_moid="domain-c2",counter="cpu.usagemhz.average"} ${T0}`,
    `vsphere_cluster_5m_sample_timestamp_seconds{cluster="C2",cluster_moid="domain-c2",counter="mem.consumed.average"} ${T0 - 300}`,
  ]);

  // Within the interval: no query, same answer.
  state.newest = T0 + 300;
  assert.deepEqual(lines(await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + 200)), out);
  assert.equal(state.queries.length, 1);
  // Not before the newest sample + interval + grace …
  await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + 300 + HISTORICAL_TIMING.grace - 1);
  assert.equal(state.queries.length, 1);
  // … then exactly one query, and the new samples are served.
  const later = lines(await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + 300 + HISTORICAL_TIMING.grace));
  assert.equal(state.queries.length, 2);
  assert.ok(
    later.includes(
      `vsphere_cluster_5m_sample_timestamp_seconds{cluster="C1",cluster_moid="domain-c1",counter="cpu.usagemhz.average"} ${T0 + 300}`,
    ),
  );
  await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + 300 + HISTORICAL_TIMING.grace + 1);
  assert.equal(state.queries.length, 2);
});

test('filtered-out targets are neither queried nor exported; no targets, no query', async () => {
  const { state, ctx } = fakeVcenter();
  const cache = new HistoricalCache();
  const out = lines(await collectHistorical(ctx, cache, SPEC, TARGETS.slice(1), T0));
  assert.equal(state.queries.length, 1);
  assert.doesNotMatch(state.queries[0]!, /domain-c1/);
  assert.ok(out.every((l) => !l.includes('domain-c1')));
  const none = await collectHistorical(ctx, new HistoricalCache(), SPEC, [], T0);
  assert.equal(state.queries.length, 1);
  assert.deepEqual(lines(none), []);
});

test('a vCenter that publishes late is asked at most once per interval, and stale samples are dropped', async () => {
  const { state, ctx } = fakeVcenter();
  const cache = new HistoricalCache();
  // The newest sample is already 10 minutes old: the next one is due "now", but one interval must pass.
  state.newest = T0 - 600;
  assert.equal(lines(await collectHistorical(ctx, cache, SPEC, TARGETS, T0)).length, 8);
  for (const dt of [20, 100, 299]) await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + dt);
  assert.equal(state.queries.length, 1);
  // T0+300: vCenter has still nothing newer; the cpu sample (T0-600) is 900 s old: still served.
  const at300 = lines(await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + 300));
  assert.equal(state.queries.length, 2);
  assert.ok(at300.some((l) => l.startsWith('vsphere_cluster_cpu_usage_5m_hertz{cluster="C1"')));
  // The consumed samples (T0-900) are older than maxAge (900 s) by now: not exported.
  assert.ok(
    at300.every((l) => !l.startsWith('vsphere_cluster_memory_consumed_5m_bytes')),
    at300.join('\n'),
  );
  assert.ok(at300.every((l) => !l.includes('counter="mem.consumed.average"')));
  // From cache a bit later, the cpu sample is stale too: nothing at all, rather than old values as fresh.
  assert.deepEqual(lines(await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + 301)), []);
  assert.equal(state.queries.length, 2);
});

test('a failed query is not retried at every scrape, and a claimed query is not sent twice', async () => {
  const { state, client, ctx } = fakeVcenter();
  let fail = true;
  const invoke = client.invoke.bind(client);
  client.invoke = (...args: Parameters<VimClient['invoke']>) => {
    if (fail) {
      state.queries.push('failed');
      return Promise.reject(new Error('boom'));
    }
    return invoke(...args);
  };
  const cache = new HistoricalCache();
  await assert.rejects(collectHistorical(ctx, cache, SPEC, TARGETS, T0), /boom/);
  assert.deepEqual(lines(await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + 20)), []);
  assert.equal(state.queries.length, 1);
  fail = false;
  await collectHistorical(ctx, cache, SPEC, TARGETS, T0 + HISTORICAL_TIMING.retry);
  assert.equal(state.queries.length, 2);
});

test('HistoricalCache keeps the newest of repeated entries and forgets entities absent from the last answer', () => {
  const cache = new HistoricalCache();
  assert.equal(cache.claim(T0), true);
  assert.equal(cache.claim(T0), false, 'claimed');
  cache.store(
    [
      { moid: 'a', counter: 'c', value: 1, timestamp: T0 - 300 },
      { moid: 'a', counter: 'c', value: 2, timestamp: T0 },
      { moid: 'b', counter: 'c', value: 3, timestamp: T0 },
    ],
    T0,
  );
  assert.deepEqual(cache.get('a', 'c', T0), { value: 2, timestamp: T0 });
  assert.equal(cache.nextQuery, T0 + 300 + HISTORICAL_TIMING.grace);
  assert.equal(cache.claim(cache.nextQuery), true);
  cache.store([{ moid: 'a', counter: 'c', value: 5, timestamp: T0 + 300 }], cache.nextQuery);
  assert.equal(cache.get('b', 'c', T0 + 400), undefined);
  assert.equal(cache.get('a', 'c', T0 + 300 + 900)?.value, 5);
  assert.equal(cache.get('a', 'c', T0 + 300 + 901), undefined);
});

test("the cluster collector times its 5-minute samples by vCenter's clock: 20 min behind ours, they are still served", async () => {
  const { state, ctx } = fakeVcenter(-1200);
  // vCenter's newest sample is a minute old by its own clock, 21 min by ours (past maxAge, 15 min).
  state.newest = Math.floor(Date.now() / 1000) - 1200 - 60;
  const inventory = buildInventory([
    {
      obj: { type: 'ClusterComputeResource', value: 'domain-c1' },
      props: new Map([['name', parseXml('<val>C1</val>')]]),
    },
  ]);
  const families: MetricFamily[] = [];
  await createClusterCollector({ historical: true }).collect(
    { ...ctx, inventory, filter: ALLOW_ALL, logger: pino({ level: 'silent' }) },
    (f) => families.push(f),
  );
  assert.deepEqual(
    lines(families).filter((l) => l.startsWith('vsphere_cluster_cpu_usage_5m_hertz')),
    ['vsphere_cluster_cpu_usage_5m_hertz{cluster="C1",cluster_moid="domain-c1"} 2000000000'],
  );
  assert.equal(state.queries.length, 1);
});
