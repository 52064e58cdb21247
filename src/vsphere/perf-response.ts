import { moRefEl } from './soap/envelope.js';
import { child, type XmlNode } from './soap/xml.js';
import type { PerfQuery, PerfSample } from './perf-manager.js';
import { epochSeconds, num, str } from './values.js';

/** Realtime statistics interval of hosts and VMs, in seconds. */
export const REALTIME_INTERVAL = 20;

/** One PerfQuerySpec: latest realtime sample of the aggregate instance of each counter. */
export function querySpec(q: PerfQuery, csv: boolean): string {
  // Element order follows the PerfQuerySpec xsd:sequence; vcsim only answers explicit metric ids.
  return (
    `<querySpec>${moRefEl('entity', q.entity)}<maxSample>1</maxSample>` +
    q.counterIds
      .map((id) => `<metricId><counterId>${id}</counterId><instance></instance></metricId>`)
      .join('') +
    `<intervalId>${REALTIME_INTERVAL}</intervalId>${csv ? '<format>csv</format>' : ''}</querySpec>`
  );
}

/** Reads one PerfEntityMetric or PerfEntityMetricCSV element; says which it was. */
export function readEntityMetric(rv: XmlNode, onSample: (s: PerfSample) => void): 'csv' | 'normal' {
  if (rv.attrs.type === 'PerfEntityMetricCSV') {
    readCsv(rv, onSample);
    return 'csv';
  }
  const entityNode = child(rv, 'entity');
  const type = entityNode?.attrs.type;
  if (!entityNode || !type) return 'normal';
  const entity = { type, value: entityNode.text };
  // maxSample 1 → one sampleInfo; with more, the last one is the newest.
  const infos = rv.children.filter((c) => c.name === 'sampleInfo');
  const info = infos[infos.length - 1];
  const intervalSeconds = num(info && child(info, 'interval')) ?? REALTIME_INTERVAL;
  const timestamp = epochSeconds(info && child(info, 'timestamp'));
  for (const series of rv.children) {
    if (series.name !== 'value') continue;
    const id = child(series, 'id');
    const counterId = num(id && child(id, 'counterId'));
    if (counterId === undefined) continue;
    const values = series.children.filter((c) => c.name === 'value');
    const value = num(values[values.length - 1]);
    // -1 is vCenter's "no data for this interval"; it is not a measurement.
    if (value === undefined || value < 0) continue;
    onSample({
      entity,
      counterId,
      instance: str(id && child(id, 'instance')) ?? '',
      value,
      intervalSeconds,
      timestamp,
    });
  }
  return 'normal';
}

/** PerfEntityMetricCSV: `sampleInfoCSV` is "interval,timestamp,…" and each series value "v1,v2,…". */
function readCsv(rv: XmlNode, onSample: (s: PerfSample) => void): void {
  const entityNode = child(rv, 'entity');
  const type = entityNode?.attrs.type;
  if (!entityNode || !type) return;
  const entity = { type, value: entityNode.text };
  const info = (child(rv, 'sampleInfoCSV')?.text ?? '').split(',');
  // The newest sample is the last interval,timestamp pair.
  const interval = Number(info[info.length - 2]);
  const ms = Date.parse(info[info.length - 1] ?? '');
  const intervalSeconds = Number.isFinite(interval) && interval > 0 ? interval : REALTIME_INTERVAL;
  const timestamp = Number.isFinite(ms) ? ms / 1000 : undefined;
  for (const series of rv.children) {
    if (series.name !== 'value') continue;
    const id = child(series, 'id');
    const counterId = num(id && child(id, 'counterId'));
    if (counterId === undefined) continue;
    const values = (child(series, 'value')?.text ?? '').split(',');
    const raw = values[values.length - 1]?.trim() ?? '';
    const value = raw === '' ? Number.NaN : Number(raw);
    // -1 (and an empty field) is vCenter's "no data for this interval", not a measurement.
    if (!Number.isFinite(value) || value < 0) continue;
    onSample({
      entity,
      counterId,
      instance: str(id && child(id, 'instance')) ?? '',
      value,
      intervalSeconds,
      timestamp,
    });
  }
}
