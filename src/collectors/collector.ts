import type { Logger } from 'pino';
import type { MetricFamily } from '../exposition/index.js';
import type { VimClient } from '../vsphere/client.js';
import type { Inventory } from '../vsphere/inventory.js';
import type { PerfManager } from '../vsphere/perf-manager.js';

/** What a collector gets for one collection. */
export interface CollectContext {
  client: VimClient;
  perf: PerfManager;
  inventory: Inventory;
  signal: AbortSignal;
  logger: Logger;
}

/** One resource kind's metrics (node_exporter style: own name, own success/duration series). */
export interface Collector {
  readonly name: string;
  /**
   * Emits finished families through `emit`. Families emitted before a failure are kept (their data
   * is complete); a family still being filled when an error is thrown is dropped with it.
   */
  collect(ctx: CollectContext, emit: (family: MetricFamily) => void): Promise<void>;
}
