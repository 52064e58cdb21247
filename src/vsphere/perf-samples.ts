import type { MoRef } from './answer-data.js';
import type { PerfSample } from './perf-manager.js';

/**
 * The samples of one PerfEntityMetric element as parallel arrays, one entry per series: a QueryPerf
 * answer at 10,000 VMs carries ~170,000 samples, and an object for each was most of the garbage of
 * reading it outside the parser.
 */
export interface PerfEntitySamples {
  entity: MoRef;
  /** Length of the sample interval in seconds (20 for realtime). */
  intervalSeconds: number;
  /** Sample timestamp, Unix seconds. */
  timestamp: number | undefined;
  /** Its samples are entries [start, end) of the columns below, which one answer's elements share. */
  start: number;
  end: number;
  counterIds: ArrayLike<number>;
  /** "" for the aggregate; undefined when every series is the aggregate. */
  instances: ArrayLike<string> | undefined;
  values: ArrayLike<number>;
}

/** Sample `i` of `e` (start ≤ i < end) as one object. */
export function sampleAt(e: PerfEntitySamples, i: number): PerfSample {
  return {
    entity: e.entity,
    counterId: e.counterIds[i]!,
    instance: instanceAt(e, i),
    value: e.values[i]!,
    intervalSeconds: e.intervalSeconds,
    timestamp: e.timestamp,
  };
}

/** Calls `onSample` with each sample of `e`, in order (for readers that want one object per sample). */
export function forEachSample(e: PerfEntitySamples, onSample: (s: PerfSample) => void): void {
  for (let i = e.start; i < e.end; i++) onSample(sampleAt(e, i));
}

/** The instance of sample `i` of `e` ("" for the aggregate). */
export function instanceAt(e: PerfEntitySamples, i: number): string {
  return e.instances?.[i] ?? '';
}
