import type { VimClient } from './client.js';
import type { PerfQuery, PerfSample } from './perf-manager.js';
import { moRefEl, type MoRef } from './soap/envelope.js';
import { metricIds, PerfAnswerFilter } from './perf-response.js';
import { child, type XmlNode } from './soap/xml.js';
import { epochSeconds, num, str } from './values.js';

/** vCenter's first historical ("past day") interval in seconds: clusters, datastores and pools have no realtime stats. */
export const HISTORICAL_INTERVAL = 300;

/** How far back a historical query reaches, and how many samples it asks for. */
export interface HistoricalWindow {
  /** Start of the queried range, Unix seconds (exclusive on vCenter). */
  startTime: number;
  /** Samples per series to ask for (see historicalQuerySpec). */
  maxSample: number;
}

/** The window ending now: `lookbackSeconds` back, and enough samples to cover it. */
export function historicalWindow(nowSeconds: number, lookbackSeconds: number): HistoricalWindow {
  return {
    startTime: nowSeconds - lookbackSeconds,
    maxSample: Math.ceil(lookbackSeconds / HISTORICAL_INTERVAL) + 1,
  };
}

/**
 * One PerfQuerySpec over a past range of the 300 s interval (aggregate instance only). vCenter ignores
 * maxSample for historical intervals (and may answer the whole range), while vcsim answers no sample at
 * all without it, so it is sent sized to the range; the reader picks the newest sample itself.
 */
export function historicalQuerySpec(q: PerfQuery, w: HistoricalWindow): string {
  // Element order follows the PerfQuerySpec xsd:sequence: entity, startTime, endTime, maxSample, metricId, intervalId.
  return (
    `<querySpec>${moRefEl('entity', q.entity)}` +
    `<startTime>${new Date(w.startTime * 1000).toISOString()}</startTime>` +
    `<maxSample>${w.maxSample}</maxSample>` +
    metricIds(q.counterIds, '') +
    `<intervalId>${HISTORICAL_INTERVAL}</intervalId></querySpec>`
  );
}

/**
 * Reads the newest valid sample of each series of one PerfEntityMetric. Samples are paired with
 * sampleInfo by position and compared by timestamp: vCenter lists them oldest first, vcsim newest first,
 * and a series may end in -1 ("no data yet") while an older sample of it is valid.
 */
export function readNewestSamples(rv: XmlNode, onSample: (s: PerfSample) => void): void {
  const entityNode = child(rv, 'entity');
  const type = entityNode?.attrs.type;
  if (!entityNode || !type) return;
  const entity = { type, value: entityNode.text };
  const infos = rv.children
    .filter((c) => c.name === 'sampleInfo')
    .map((info) => ({
      timestamp: epochSeconds(child(info, 'timestamp')),
      interval: num(child(info, 'interval')) ?? HISTORICAL_INTERVAL,
    }));
  for (const series of rv.children) {
    if (series.name !== 'value') continue;
    const id = child(series, 'id');
    const counterId = num(id && child(id, 'counterId'));
    if (counterId === undefined) continue;
    const values = series.children.filter((c) => c.name === 'value');
    let best: { value: number; timestamp: number; interval: number } | undefined;
    for (let i = 0; i < Math.min(values.length, infos.length); i++) {
      const value = num(values[i]);
      const { timestamp, interval } = infos[i]!;
      // -1 is vCenter's "no data for this interval", not a measurement; without a time it cannot be aged.
      if (value === undefined || !Number.isFinite(value) || value < 0 || timestamp === undefined) continue;
      if (!best || timestamp > best.timestamp) best = { value, timestamp, interval };
    }
    if (!best) continue;
    onSample({
      entity,
      counterId,
      instance: str(id && child(id, 'instance')) ?? '',
      value: best.value,
      intervalSeconds: best.interval,
      timestamp: best.timestamp,
    });
  }
}

/**
 * One historical QueryPerf of `batch` to PerformanceManager `perfManager`: PerfManager.queryHistorical
 * packs the batches. Samples reach `onSample` only once the whole answer was read, so a batch refused
 * half-way and sent again in halves delivers no series twice.
 */
export async function queryHistoricalBatch(
  client: VimClient,
  perfManager: MoRef,
  batch: readonly PerfQuery[],
  window: HistoricalWindow,
  signal: AbortSignal | undefined,
  onSample: (s: PerfSample) => void,
): Promise<void> {
  const got: PerfSample[] = [];
  const filter = new PerfAnswerFilter(batch);
  const accept = filter.passElement((s) => got.push(s));
  // The csv format is not asked for: these answers are small, and the csv reader keeps only the last sample.
  await client.invoke(
    'QueryPerf',
    perfManager,
    batch.map((q) => historicalQuerySpec(q, window)).join(''),
    signal,
    {
      depth: 3,
      name: 'returnval',
      onElement: (rv) => {
        const element: PerfSample[] = [];
        readNewestSamples(rv, (s) => element.push(s));
        accept(element);
      },
    },
  );
  filter.report(client.logger, 'QueryPerf');
  for (const s of got) onSample(s);
}
