/**
 * Micro-benchmark of the CPU a realtime QueryPerf costs the exporter, without vcsim or a socket:
 * synthesised answers of 256 VMs × 17 counters (bench/perf-answers.ts, as vcsim 0.24 and 8 write
 * them) are fed in 64 KiB chunks to the transport's parser through the real PerfManager, then to
 * the vm collector's family building (collectPerfFamilies) and the text encoder. Prints the median
 * over rounds of the CPU time (user + system, GC included) per series read and per exposition line.
 *
 *   node --import tsx bench/perf-parse.ts [rounds=7] [vms=10240] [format=normal|csv|both]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/perf-parse.ts
 *
 * CPU time on a shared machine is noisy: compare medians of runs made one after the other.
 */
import pino from 'pino';
import { encodeFamilyChunks, renderLabels } from '../src/exposition/index.js';
import { collectPerfFamilies, type PerfTarget } from '../src/collectors/perf-families.js';
import { VM_PERF } from '../src/collectors/perf-metrics.js';
import type { VimClient } from '../src/vsphere/client.js';
import { PerfManager, type PerfCounter, type PerfEntitySamples } from '../src/vsphere/perf-manager.js';
import { child, SoapXmlParser, type StreamSpec, type XmlNode } from '../src/vsphere/soap/xml.js';
import { xmlLimits } from '../src/vsphere/soap/xml-limits.js';
import { perfAnswer } from './perf-answers.js';
import { median } from './call-stats.js';

const CHUNK = 64 * 1024;
const BATCH = 256;
const LIMITS = xmlLimits(32 * 1024 * 1024);
const ID = ['vm', 'vm_moid'] as const;

const [rounds = 7, vms = 10_240] = process.argv.slice(2, 4).map(Number);
const formats = (process.argv[4] ?? 'both') === 'both' ? ['normal', 'csv'] : [process.argv[4]!];

// Counter keys as vcsim numbers them; units as the defs expect, so every def is collected.
const catalogue = new Map<string, PerfCounter>(
  VM_PERF.map((d, i) => [d.counter, { key: 2 + i * 7, name: d.counter, unit: d.unit, statsType: '' }]),
);
const counterIds = [...catalogue.values()].map((c) => c.key);

/** Answers of the batches of `vms` VMs, by the first entity each batch asks for. */
function answers(format: 'normal' | 'csv'): { byFirst: Map<string, Buffer>; series: number } {
  const byFirst = new Map<string, Buffer>();
  let series = 0;
  for (let first = 0; first < vms; first += BATCH) {
    const a = perfAnswer({
      format,
      entities: Math.min(BATCH, vms - first),
      firstEntity: first,
      counterIds,
      seed: first + 1,
    });
    series += a.series;
    byFirst.set(`vm-${first}`, Buffer.from(a.body, 'utf8'));
  }
  return { byFirst, series };
}

/** A VimClient whose QueryPerf is parsed as the transport parses an answer off the socket. */
function fakeClient(byFirst: Map<string, Buffer>): VimClient {
  return {
    logger: pino({ level: 'silent' }),
    session: { generation: 1 },
    content: () => Promise.resolve({ perfManager: { type: 'PerformanceManager', value: 'PerfMgr' } }),
    invoke: (method: string, _self: unknown, body: string, _signal: unknown, stream?: StreamSpec) => {
      const first = /<entity type="VirtualMachine">([^<]*)<\/entity>/.exec(body)?.[1] ?? '';
      const answer = byFirst.get(first);
      if (method !== 'QueryPerf' || !answer) throw new Error(`no answer for ${method} ${first}`);
      const parser = new SoapXmlParser(stream, LIMITS);
      for (let at = 0; at < answer.length; at += CHUNK) parser.write(answer.subarray(at, at + CHUNK));
      const env = parser.close();
      return Promise.resolve(child(env, 'Body')!.children[0] as XmlNode);
    },
  } as unknown as VimClient;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function round(format: 'normal' | 'csv', data: ReturnType<typeof answers>) {
  const perf = new PerfManager(fakeClient(data.byFirst), { batchObjects: BATCH });
  perf.counters = () => Promise.resolve(catalogue);
  const targets: PerfTarget[] = [];
  for (let i = 0; i < vms; i++) {
    const labels = [`vm-name-${i}`, `vm-${i}`];
    targets.push({
      entity: { type: 'VirtualMachine', value: `vm-${i}` },
      labels,
      rendered: renderLabels(ID, labels),
    });
  }
  const queries = targets.map((t) => ({ entity: t.entity, counterIds }));
  const signal = new AbortController().signal;

  const t0 = cpuMs();
  const read: PerfEntitySamples[] = [];
  await perf.queryRealtimeEntities(queries, signal, (e) => read.push(e));
  const t1 = cpuMs();
  // The samples just read, handed over again: family building measured apart from the parse.
  const replay = {
    counters: () => Promise.resolve(catalogue),
    queryRealtimeEntities: (_q: unknown, _s: unknown, onEntity: (e: PerfEntitySamples) => void) => {
      for (const e of read) onEntity(e);
      return Promise.resolve();
    },
  } as unknown as PerfManager;
  const families = await collectPerfFamilies(replay, 'vsphere_vm', ID, VM_PERF, targets, signal);
  const t2 = cpuMs();
  const chunks = encodeFamilyChunks(families);
  const t3 = cpuMs();
  const lines = families.reduce((n, f) => n + f.size, 0);
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  return {
    format,
    series: data.series,
    samples: read.reduce((n, e) => n + e.values.length, 0),
    lines,
    bytes,
    decodeUsPerSeries: ((t1 - t0) * 1000) / data.series,
    familiesUsPerLine: ((t2 - t1) * 1000) / lines,
    encodeUsPerLine: ((t3 - t2) * 1000) / lines,
    totalUsPerLine: ((t3 - t0) * 1000) / lines,
  };
}

for (const format of formats as ('normal' | 'csv')[]) {
  const data = answers(format);
  const runs: Awaited<ReturnType<typeof round>>[] = [];
  // One warm-up round: the JIT's first pass is not what a running exporter pays.
  await round(format, data);
  for (let r = 0; r < rounds; r++) runs.push(await round(format, data));
  const pick = (k: 'decodeUsPerSeries' | 'familiesUsPerLine' | 'encodeUsPerLine' | 'totalUsPerLine') =>
    Number(median(runs.map((x) => x[k])).toFixed(3));
  const last = runs[runs.length - 1]!;
  console.log(
    JSON.stringify({
      format,
      vms,
      rounds,
      seriesInAnswers: last.series,
      samplesRead: last.samples,
      expositionLines: last.lines,
      expositionBytes: last.bytes,
      medianDecodeUsPerSeries: pick('decodeUsPerSeries'),
      medianFamiliesUsPerLine: pick('familiesUsPerLine'),
      medianEncodeUsPerLine: pick('encodeUsPerLine'),
      medianTotalUsPerLine: pick('totalUsPerLine'),
      decodeRuns: runs.map((x) => Number(x.decodeUsPerSeries.toFixed(3))),
    }),
  );
}
