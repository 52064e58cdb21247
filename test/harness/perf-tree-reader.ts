/**
 * The tree-based decode of one QueryPerf entity element, kept as the reference the streaming
 * reader (src/vsphere/perf-entity-reader.ts) and its series scanner are tested against: it reads
 * the whole parsed element, one rule at a time, where the reader follows parser events.
 */
import { child, type XmlNode } from '../../src/vsphere/soap/xml.js';
import type { PerfSample } from '../../src/vsphere/perf-manager.js';
import { REALTIME_INTERVAL } from '../../src/vsphere/perf-response.js';
import { epochSeconds, num, str } from '../../src/vsphere/values.js';

/** Reads one PerfEntityMetric or PerfEntityMetricCSV element; says which it was. */
export function readEntityMetric(rv: XmlNode, onSample: (s: PerfSample) => void): 'csv' | 'normal' {
  const csv = rv.attrs.type === 'PerfEntityMetricCSV';
  const entityNode = child(rv, 'entity');
  const type = entityNode?.attrs.type;
  if (!entityNode || !type) return csv ? 'csv' : 'normal';
  const entity = { type, value: entityNode.text };
  const { intervalSeconds, timestamp } = csv ? csvSampleInfo(rv) : sampleInfo(rv);
  for (const series of rv.children) {
    if (series.name !== 'value') continue;
    const id = child(series, 'id');
    const counterId = num(id && child(id, 'counterId'));
    if (counterId === undefined) continue;
    const value = csv ? latestCsv(series) : latestNormal(series);
    // -1 (and, in csv, an empty field) is vCenter's "no data for this interval", not a measurement.
    if (value === undefined || !Number.isFinite(value) || value < 0) continue;
    onSample({
      entity,
      counterId,
      instance: str(id && child(id, 'instance')) ?? '',
      value,
      intervalSeconds,
      timestamp,
    });
  }
  return csv ? 'csv' : 'normal';
}

function sampleInfo(rv: XmlNode): { intervalSeconds: number; timestamp: number | undefined } {
  // maxSample 1 → one sampleInfo; with more, the last one is the newest.
  const info = lastChild(rv, 'sampleInfo');
  return {
    intervalSeconds: num(info && child(info, 'interval')) ?? REALTIME_INTERVAL,
    timestamp: epochSeconds(info && child(info, 'timestamp')),
  };
}

/** `sampleInfoCSV` is "interval,timestamp,interval,timestamp,…", newest last. */
function csvSampleInfo(rv: XmlNode): { intervalSeconds: number; timestamp: number | undefined } {
  const info = (child(rv, 'sampleInfoCSV')?.text ?? '').split(',');
  const interval = Number(info[info.length - 2]);
  const ms = Date.parse(info[info.length - 1] ?? '');
  return {
    intervalSeconds: Number.isFinite(interval) && interval > 0 ? interval : REALTIME_INTERVAL,
    timestamp: Number.isFinite(ms) ? ms / 1000 : undefined,
  };
}

function latestNormal(series: XmlNode): number | undefined {
  return num(lastChild(series, 'value'));
}

// The last <value> of a series is its newest sample: searched from the end.
function lastChild(node: XmlNode, name: string): XmlNode | undefined {
  const children = node.children;
  for (let i = children.length - 1; i >= 0; i--) if (children[i]!.name === name) return children[i];
  return undefined;
}

function latestCsv(series: XmlNode): number | undefined {
  const values = (child(series, 'value')?.text ?? '').split(',');
  const raw = values[values.length - 1]?.trim() ?? '';
  return raw === '' ? undefined : Number(raw);
}
