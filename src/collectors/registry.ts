import type { Logger } from 'pino';
import type { CollectorOptions } from '../config/schema.js';
import type { RestSession } from '../vsphere/rest/session.js';
import { TaggingApi } from '../vsphere/rest/tagging.js';
import { alarmCollector } from './alarm.js';
import type { Collector } from './collector.js';
import { promotedLabelNames } from './info-labels.js';
import { clusterCollector, createClusterCollector } from './cluster.js';
import { datacenterCollector } from './datacenter.js';
import { createDatastoreCollector, datastoreCollector } from './datastore.js';
import { createHostCollector, hostCollector } from './host.js';
import { createResourcePoolCollector, resourcePoolCollector } from './resource-pool.js';
import type { CollectorName } from './names.js';
import { createTagCollector, tagCollector } from './tag.js';
import { createVmCollector, vmCollector } from './vm.js';

/** Every collector by name; the config's `collectors` section picks from these. */
export const ALL_COLLECTORS: readonly Collector[] = [
  vmCollector,
  hostCollector,
  clusterCollector,
  datastoreCollector,
  resourcePoolCollector,
  datacenterCollector,
  alarmCollector,
  tagCollector,
];

/** What collectors with connections of their own (tag: a REST session) are built from. */
export interface CollectorDeps {
  options: CollectorOptions;
  logger: Logger;
  /** Opens the target's vAPI session (its password source and TLS settings are the target's). */
  rest: () => RestSession;
}

const BUILDERS: Partial<Record<CollectorName, (deps: CollectorDeps) => Collector>> = {
  vm: (d) => createVmCollector({ ...d.options.vm, infoLabels: promotedLabelNames(d.options.infoLabels) }),
  host: (d) =>
    createHostCollector({ ...d.options.host, infoLabels: promotedLabelNames(d.options.infoLabels) }),
  cluster: (d) => createClusterCollector({ historical: d.options.historical }),
  datastore: (d) => createDatastoreCollector({ historical: d.options.historical }),
  resource_pool: (d) => createResourcePoolCollector({ historical: d.options.historical }),
  tag: (d) => {
    const rest = d.rest();
    return createTagCollector({
      tagging: new TaggingApi(rest),
      close: () => rest.close(),
      infoLabels: d.options.infoLabels,
    });
  },
};

/** The collectors enabled in `enabled` (name → on/off), in registry order, built from `deps` where needed. */
export function enabledCollectors(enabled: Record<string, boolean>, deps?: CollectorDeps): Collector[] {
  return ALL_COLLECTORS.filter((c) => enabled[c.name] !== false).map((c) => {
    const build = BUILDERS[c.name];
    return build && deps ? build(deps) : c;
  });
}
