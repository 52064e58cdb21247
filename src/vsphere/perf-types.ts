/** What QueryPerf is asked and answers: counters of vCenter's catalogue, queries per entity, samples. */
import type { MoRef } from './soap/envelope.js';

/** One entry of vCenter's counter catalogue. */
export interface PerfCounter {
  key: number;
  /** `group.name.rollup`, e.g. `cpu.ready.summation`. */
  name: string;
  unit: string;
  statsType: string;
}

/** One entity and the counter ids to read for it: aggregate instance "" or, for `instanceCounterIds`, every instance ("*"). */
export interface PerfQuery {
  entity: MoRef;
  counterIds: readonly number[];
  /** Read with instance "*": vCenter answers the aggregate "" and each instance (vNIC, vCPU, …). */
  instanceCounterIds?: readonly number[];
}

/** One value of a QueryPerf answer. */
export interface PerfSample {
  entity: MoRef;
  counterId: number;
  instance: string;
  value: number;
  /** Length of the sample interval in seconds (20 for realtime). */
  intervalSeconds: number;
  /** Sample timestamp, Unix seconds. */
  timestamp: number | undefined;
}
