import type { PerfEntitySamples, PerfSample } from '../../../src/vsphere/perf-manager.js';

/** `samples` as PerfManager.queryRealtimeEntities hands them over: one block per run of one entity. */
export function entitiesOf(samples: readonly PerfSample[]): PerfEntitySamples[] {
  const out: PerfEntitySamples[] = [];
  let cur: { counterIds: number[]; instances: string[]; values: number[] } | undefined;
  let moid: string | undefined;
  for (const s of samples) {
    if (!cur || s.entity.value !== moid) {
      moid = s.entity.value;
      cur = { counterIds: [], instances: [], values: [] };
      out.push({
        entity: s.entity,
        intervalSeconds: s.intervalSeconds,
        timestamp: s.timestamp,
        start: 0,
        end: 0,
        ...cur,
      });
    }
    out[out.length - 1]!.end++;
    cur.counterIds.push(s.counterId);
    cur.instances.push(s.instance);
    cur.values.push(s.value);
  }
  return out;
}
