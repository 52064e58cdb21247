import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatastoreCollector } from '../../../src/collectors/datastore.js';
import {
  DATASTORE_PERF,
  datastorePerfFamilies,
  InstanceMap,
  instanceMapOf,
  volumeId,
} from '../../../src/collectors/datastore-perf.js';
import { createHostCollector } from '../../../src/collectors/host.js';
import { HostPerfShare, hostPerfShareFor } from '../../../src/collectors/host-perf-share.js';
import type { CollectContext, Collector } from '../../../src/collectors/collector.js';
import { encodeFamilies, type MetricFamily } from '../../../src/exposition/index.js';
import type {
  PerfCounter,
  PerfEntitySamples,
  PerfManager,
  PerfQuery,
  PerfSample,
} from '../../../src/vsphere/perf-manager.js';
import { entitiesOf } from './perf-fixture.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import { contextOf, inventoryOf, obj as object, ref, val } from '../../harness/model-fixture.js';
import { find, parsePrometheusText, type Sample } from '../../harness/prom-text.js';

const X = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
// Real vCenter formats: a VMFS UUID, an NFS volume id (as in a captured host metric list), a vSAN
// datastore URL. The host's datastore-counter instance is the part after /vmfs/volumes/.
const VMFS = '5f1e2a3b-4c5d6e7f-8a9b-0c1d2e3f4a5b';
const NFS = 'd10c389e-c75b7dc4';
const VSAN = 'vsan:52c0f7e2a1b34c5d-9e8f7a6b5c4d3e2f';
const url = (id: string): string => `ds:///vmfs/volumes/${id}/`;
const mounts = (...m: [host: string, path?: string][]): string =>
  `<val ${X} xsi:type="ArrayOfDatastoreHostMount">` +
  m
    .map(
      ([h, p]) =>
        `<DatastoreHostMount><key type="HostSystem">${h}</key><mountInfo>` +
        `${p === undefined ? '' : `<path>${p}</path>`}<accessMode>readWrite</accessMode></mountInfo></DatastoreHostMount>`,
    )
    .join('') +
  '</val>';

// Counter keys as in vCenter's catalogue (vcsim's keys; any would do).
const COUNTERS: [string, number, string][] = [
  ['datastore.totalReadLatency.average', 182, 'millisecond'],
  ['datastore.totalWriteLatency.average', 183, 'millisecond'],
  ['datastore.numberReadAveraged.average', 178, 'number'],
  ['datastore.numberWriteAveraged.average', 179, 'number'],
  ['datastore.read.average', 180, 'kiloBytesPerSecond'],
  ['datastore.write.average', 181, 'kiloBytesPerSecond'],
  ['cpu.usage.average', 2, 'percent'],
];
const CATALOGUE = new Map<string, PerfCounter>(
  COUNTERS.map(([name, key, unit]) => [name, { key, name, unit, statsType: 'rate' }]),
);
const KEY = new Map(COUNTERS.map(([name, key]) => [name.split('.')[1]!, key]));
const s = (host: string, counter: string, instance: string, value: number): PerfSample => ({
  entity: { type: 'HostSystem', value: host },
  counterId: KEY.get(counter)!,
  instance,
  value,
  intervalSeconds: 20,
  timestamp: 0,
});

const parse = (families: MetricFamily[]): Sample[] =>
  parsePrometheusText(encodeFamilies(families).toString()).samples;
const values = (samples: Sample[], name: string): Record<string, number> =>
  Object.fromEntries(find(samples, name).map((x) => [x.labels.datastore!, x.value]));

test('volumeId: the volume a datastore URL ends in, for every URL form vCenter uses; nothing for junk', () => {
  assert.equal(volumeId(url(VMFS)), VMFS);
  assert.equal(volumeId(url(NFS)), NFS);
  assert.equal(volumeId(url(VSAN)), VSAN);
  assert.equal(
    volumeId('ds:///vmfs/volumes/vvol:6b5c4d3e2f1a0b9c-8d7e6f5a4b3c2d1e/'),
    'vvol:6b5c4d3e2f1a0b9c-8d7e6f5a4b3c2d1e',
  );
  assert.equal(volumeId(`/vmfs/volumes/${VMFS}`), VMFS, 'a host mount path');
  assert.equal(volumeId('/tmp/govcsim-DC0-LocalDS_0-2136338143'), 'govcsim-DC0-LocalDS_0-2136338143');
  for (const junk of [undefined, '', '/', 'ds:///', 'ds://'])
    assert.equal(volumeId(junk), undefined, JSON.stringify(junk));
});

test('InstanceMap: a host mount path wins over the URL; a volume id two datastores share maps to neither', () => {
  const m = new InstanceMap([
    { moid: 'datastore-1', url: url(VMFS) },
    // NFS: each host names its mount; this host's mount id is not the URL's.
    {
      moid: 'datastore-2',
      url: url(NFS),
      mounts: parseXml(mounts(['host-9', '/vmfs/volumes/0a1b2c3d-4e5f6a7b'])),
    },
    { moid: 'datastore-3', url: url('dup') },
    { moid: 'datastore-4', url: url('dup') },
    { moid: 'datastore-5', url: 'not a url at all' },
  ]);
  assert.equal(m.lookup('host-1', VMFS), 'datastore-1');
  assert.equal(m.lookup('host-1', NFS), 'datastore-2');
  assert.equal(m.lookup('host-9', '0a1b2c3d-4e5f6a7b'), 'datastore-2');
  assert.equal(m.lookup('host-1', '0a1b2c3d-4e5f6a7b'), undefined, 'that mount id is host-9s only');
  assert.equal(m.lookup('host-1', 'dup'), undefined);
  assert.equal(m.lookup('host-1', 'unknown'), undefined);
  // Keys are vCenter's strings: Object.prototype names are no datastores.
  for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
    assert.equal(m.lookup('host-1', k), undefined, k);
});

const MAP = new InstanceMap([
  { moid: 'datastore-1', url: url(VMFS) },
  { moid: 'datastore-2', url: url(NFS) },
  { moid: 'datastore-3', url: url(VSAN) },
]);
const TARGETS = [
  { moid: 'datastore-1', name: 'vmfs-01' },
  { moid: 'datastore-2', name: 'nfs-01' },
];

test('aggregation: IOPS and throughput summed over hosts, latency the highest host, in base units', () => {
  const got = parse(
    datastorePerfFamilies(
      [
        s('host-1', 'totalReadLatency', VMFS, 4),
        s('host-2', 'totalReadLatency', VMFS, 11),
        s('host-3', 'totalReadLatency', VMFS, 7),
        s('host-1', 'totalWriteLatency', VMFS, 2),
        s('host-2', 'totalWriteLatency', VMFS, 1),
        s('host-1', 'numberReadAveraged', VMFS, 100),
        s('host-2', 'numberReadAveraged', VMFS, 250),
        s('host-3', 'numberReadAveraged', VMFS, 5),
        s('host-1', 'numberWriteAveraged', VMFS, 10),
        s('host-1', 'read', VMFS, 1000),
        s('host-2', 'read', VMFS, 24),
        s('host-2', 'write', VMFS, 3),
        s('host-1', 'read', NFS, 8),
        // The aggregate instance "", an echoed "*" and a negative (no data) are no datastore's.
        s('host-1', 'read', '', 99_999),
        s('host-1', 'read', '*', 99_999),
        s('host-3', 'read', VMFS, -1),
        // A counter the collector does not aggregate.
        { ...s('host-1', 'read', VMFS, 5000), counterId: 2 },
      ],
      CATALOGUE,
      MAP,
      TARGETS,
    ),
  );
  assert.deepEqual(values(got, 'vsphere_datastore_read_latency_seconds'), { 'vmfs-01': 0.011 });
  assert.deepEqual(values(got, 'vsphere_datastore_write_latency_seconds'), { 'vmfs-01': 0.002 });
  assert.deepEqual(values(got, 'vsphere_datastore_read_operations_per_second'), { 'vmfs-01': 355 });
  assert.deepEqual(values(got, 'vsphere_datastore_write_operations_per_second'), { 'vmfs-01': 10 });
  assert.deepEqual(values(got, 'vsphere_datastore_read_bytes_per_second'), {
    'vmfs-01': 1024 * 1024,
    'nfs-01': 8 * 1024,
  });
  assert.deepEqual(values(got, 'vsphere_datastore_write_bytes_per_second'), { 'vmfs-01': 3 * 1024 });
  assert.deepEqual(values(got, 'vsphere_datastore_realtime_hosts'), { 'vmfs-01': 3, 'nfs-01': 1 });
  assert.deepEqual(find(got, 'vsphere_datastore_realtime_unmapped_instances')[0]?.value, 0);
  assert.equal(find(got, 'vsphere_datastore_read_latency_seconds')[0]?.labels.datastore_moid, 'datastore-1');
  // Every def's aggregation is stated in its help.
  for (const d of DATASTORE_PERF) assert.match(d.family.help, new RegExp(`${d.aggregate} over hosts`));
});

test('one host sending the same series twice counts once; a catalogue with another unit exports nothing', () => {
  const twice = [s('host-1', 'numberReadAveraged', VMFS, 40), s('host-1', 'numberReadAveraged', VMFS, 40)];
  assert.deepEqual(
    values(
      parse(datastorePerfFamilies(twice, CATALOGUE, MAP, TARGETS)),
      'vsphere_datastore_read_operations_per_second',
    ),
    { 'vmfs-01': 40 },
  );
  const odd = new Map(CATALOGUE);
  odd.set('datastore.totalReadLatency.average', { key: 182, name: 'x', unit: 'microsecond', statsType: '' });
  const got = parse(datastorePerfFamilies([s('host-1', 'totalReadLatency', VMFS, 5)], odd, MAP, TARGETS));
  assert.equal(find(got, 'vsphere_datastore_read_latency_seconds').length, 0);
});

test('unmapped instances are counted per host × instance and left out; a filtered-out datastore is neither', () => {
  const got = parse(
    datastorePerfFamilies(
      [
        s('host-1', 'read', 'deadbeef-00000000', 1),
        s('host-1', 'write', 'deadbeef-00000000', 1),
        s('host-2', 'read', 'deadbeef-00000000', 1),
        s('host-2', 'read', 'naa.600508b1001c3a5e', 1),
        // datastore-3 (vSAN) is known but filtered out of TARGETS.
        s('host-1', 'read', VSAN, 1),
      ],
      CATALOGUE,
      MAP,
      TARGETS,
    ),
  );
  assert.equal(find(got, 'vsphere_datastore_realtime_unmapped_instances')[0]?.value, 3);
  assert.equal(find(got, 'vsphere_datastore_read_bytes_per_second').length, 0);
  assert.equal(find(got, 'vsphere_datastore_realtime_hosts').length, 0);
});

test('hostile strings: odd instances never crash or leak into labels; odd names are escaped', () => {
  const hostile = [
    '"}\nvsphere_up 0\n',
    '__proto__',
    'constructor',
    '\\',
    'x'.repeat(100_000),
    '\u0000',
    '../../',
  ];
  const map = new InstanceMap([
    { moid: 'ds"\n1', url: url('ok') },
    ...hostile.map((h, i) => ({ moid: `junk-${i}`, url: h })),
  ]);
  const fams = datastorePerfFamilies(
    [...hostile.map((h) => s('host-1', 'read', h, 1)), s('host-"\n', 'read', 'ok', 2)],
    CATALOGUE,
    map,
    [{ moid: 'ds"\n1', name: 'name "with"\nnewline\\' }],
  );
  const got = parse(fams);
  assert.deepEqual(
    find(got, 'vsphere_datastore_read_bytes_per_second').map((x) => [
      x.labels.datastore,
      x.labels.datastore_moid,
      x.value,
    ]),
    [['name "with"\nnewline\\', 'ds"\n1', 2048]],
  );
  // Only the well-formed mapped one, and no instance text in any label.
  for (const x of got) for (const v of Object.values(x.labels)) assert.ok(!v.includes('vsphere_up'), v);
});

// A PerfManager stand-in answering every realtime query with `answer(query)` and counting calls.
function fakePerf(answer: (q: PerfQuery) => PerfSample[]): { perf: PerfManager; calls: PerfQuery[][] } {
  const calls: PerfQuery[][] = [];
  const perf = {
    counters: () => Promise.resolve(CATALOGUE),
    queryRealtime: (qs: readonly PerfQuery[], _signal: AbortSignal, onSample: (x: PerfSample) => void) => {
      calls.push([...qs]);
      for (const q of qs) for (const x of answer(q)) onSample(x);
      return Promise.resolve();
    },
    queryRealtimeEntities: (
      qs: readonly PerfQuery[],
      _signal: AbortSignal,
      onEntity: (e: PerfEntitySamples) => void,
    ) => {
      calls.push([...qs]);
      for (const e of entitiesOf(qs.flatMap(answer))) onEntity(e);
      return Promise.resolve();
    },
  } as unknown as PerfManager;
  return { perf, calls };
}

const INVENTORY = inventoryOf([
  object('Datacenter', 'dc-1', [
    ['name', val('dc')],
    ['parent', ref('Folder', 'group-d1')],
  ]),
  ...['host-1', 'host-2'].map((h) =>
    object('HostSystem', h, [
      ['name', val(`esx-${h}`)],
      ['parent', ref('Datacenter', 'dc-1')],
      ['summary.runtime.connectionState', val('connected')],
      ['summary.runtime.powerState', val('poweredOn')],
    ]),
  ),
  object('Datastore', 'datastore-1', [
    ['name', val('vmfs-01')],
    ['parent', ref('Datacenter', 'dc-1')],
    ['summary.url', val(url(VMFS))],
    ['host', mounts(['host-1', `/vmfs/volumes/${VMFS}`], ['host-2', `/vmfs/volumes/${VMFS}`])],
  ]),
]);

// Each host reports the VMFS datastore: read latency 3 or 9 ms, 10 or 30 read IOPS.
const ANSWER = (q: PerfQuery): PerfSample[] => {
  const h = q.entity.value;
  const ids = new Set(q.instanceCounterIds ?? []);
  const out = [];
  if (ids.has(182)) out.push(s(h, 'totalReadLatency', VMFS, h === 'host-1' ? 3 : 9));
  if (ids.has(178)) out.push(s(h, 'numberReadAveraged', VMFS, h === 'host-1' ? 10 : 30));
  return out;
};

async function run(collectors: Collector[], perf: PerfManager): Promise<Sample[]> {
  const ctx: CollectContext = { ...contextOf(INVENTORY), perf };
  const share = hostPerfShareFor(collectors);
  if (share) ctx.hostPerf = share;
  const fams: MetricFamily[] = [];
  await Promise.all(collectors.map((c) => c.collect(ctx, (f) => fams.push(f))));
  return parsePrometheusText(encodeFamilies(fams).toString()).samples;
}

test('with the host collector: its one QueryPerf carries the datastore counters ("*"), none of its own', async () => {
  const { perf, calls } = fakePerf(ANSWER);
  const got = await run([createDatastoreCollector(), createHostCollector()], perf);
  assert.equal(calls.length, 1, 'one realtime query in all');
  for (const q of calls[0]!)
    for (const [name] of COUNTERS.slice(0, 6))
      assert.ok(q.instanceCounterIds?.includes(CATALOGUE.get(name)!.key), `${name} asked with "*"`);
  assert.deepEqual(values(got, 'vsphere_datastore_read_latency_seconds'), { 'vmfs-01': 0.009 });
  assert.deepEqual(values(got, 'vsphere_datastore_read_operations_per_second'), { 'vmfs-01': 40 });
  // The host collector's own per-datastore latency series are unchanged.
  assert.equal(find(got, 'vsphere_host_datastore_read_latency_seconds', { datastore_uuid: VMFS }).length, 2);
});

test('the host collector alone asks only its own counters: the datastore ones are there only for the datastore collector', async () => {
  const { perf, calls } = fakePerf(ANSWER);
  await run([createHostCollector()], perf);
  const ids = new Set(calls.flat().flatMap((q) => [...q.counterIds, ...(q.instanceCounterIds ?? [])]));
  assert.ok(!ids.has(178) && !ids.has(180), 'no IOPS or throughput counters');
});

test('without the host collector, the datastore collector queries the hosts once itself', async () => {
  const { perf, calls } = fakePerf(ANSWER);
  const got = await run([createDatastoreCollector()], perf);
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.map((q) => q.entity.value).sort(), ['host-1', 'host-2']);
  assert.deepEqual(values(got, 'vsphere_datastore_read_operations_per_second'), { 'vmfs-01': 40 });
});

test('a failed host query fails the datastore collector too (no wait forever), its other families kept', async () => {
  const perf = {
    counters: () => Promise.resolve(CATALOGUE),
    queryRealtime: () => Promise.reject(new Error('QueryPerf refused')),
  } as unknown as PerfManager;
  const ctx: CollectContext = { ...contextOf(INVENTORY), perf };
  ctx.hostPerf = new HostPerfShare(['datastore.read.average'], true);
  const fams: MetricFamily[] = [];
  const results = await Promise.allSettled([
    createDatastoreCollector().collect(ctx, (f) => fams.push(f)),
    createHostCollector().collect(ctx, () => undefined),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.ok(fams.some((f) => f.name === 'vsphere_datastore_info'));
  assert.equal(instanceMapOf(INVENTORY).lookup('host-1', VMFS), 'datastore-1');
});
