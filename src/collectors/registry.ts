import { alarmCollector } from './alarm.js';
import type { Collector } from './collector.js';
import { clusterCollector } from './cluster.js';
import { datacenterCollector } from './datacenter.js';
import { datastoreCollector } from './datastore.js';
import { hostCollector } from './host.js';
import { resourcePoolCollector } from './resource-pool.js';
import { vmCollector } from './vm.js';

/** Every collector by name; the config's `collectors` section picks from these. */
export const ALL_COLLECTORS: readonly Collector[] = [
  vmCollector,
  hostCollector,
  clusterCollector,
  datastoreCollector,
  resourcePoolCollector,
  datacenterCollector,
  alarmCollector,
];

/** The collectors enabled in `enabled` (name → on/off), in registry order. */
export function enabledCollectors(enabled: Record<string, boolean>): Collector[] {
  return ALL_COLLECTORS.filter((c) => enabled[c.name] !== false);
}
