// Collector registration in one place (node_exporter's registerCollector): per collector its name,
// whether it runs by default, its families and its factory. docs/metrics.md (scripts/metrics-doc.ts)
// and the targets (src/target.ts) read these entries; the config reads the same defaults from
// src/model/names.ts, which stays free of imports so that config/ never loads a collector.
import type { CollectorOptions } from '../config/schema.js';
import { promotedLabelNames } from '../model/info-labels.js';
import { COLLECTOR_DEFAULTS, COLLECTOR_NAMES, type CollectorName } from '../model/names.js';
import { alarmCollector } from './alarm.js';
import { CUSTOM_ATTRIBUTE_PROPERTIES } from './custom-attribute.js';
import { certificateCollector } from './certificate.js';
import { licenseCollector } from './license.js';
import { createEventCollector, eventCollector } from './event.js';
import { nameRegExp } from '../model/filters.js';
import type { Collector, FamilyDef } from './collector.js';
import type { PropertySpec } from '../vsphere/answer-data.js';
import { clusterCollector, createClusterCollector } from './cluster.js';
import { datacenterCollector } from './datacenter.js';
import { createDatastoreCollector, datastoreCollector } from './datastore.js';
import { createHostCollector, hostCollector } from './host.js';
import { createResourcePoolCollector, resourcePoolCollector } from './resource-pool.js';
import { createTagCollector, TAG_FAMILIES } from './tag.js';
import { createVmCollector, vmCollector } from './vm.js';
import { vsanCollector } from './vsan.js';

/** What a target builds its collectors from. */
export interface CollectorDeps {
  options: CollectorOptions;
}

/** One collector's registration. */
export interface CollectorEntry {
  readonly name: CollectorName;
  /** Runs unless `collectors.<name>: false` / `--no-collector.<name>` (value from src/model/names.ts). */
  readonly enabledByDefault: boolean;
  /** Every family it can emit with default options: the metric reference is generated from these. */
  readonly families: readonly FamilyDef[];
  /** What it reads from the inventory model with every option on (an option may read less). */
  readonly properties: readonly PropertySpec[];
  /** Builds the collector of one target from the configured options. */
  create(deps: CollectorDeps): Collector;
}

// One registration per name: a collector missing here, or one unknown to the model, is a type error.
const REGISTRATIONS: {
  readonly [N in CollectorName]: Pick<CollectorEntry, 'families' | 'properties' | 'create'>;
} = {
  vm: {
    families: vmCollector.families,
    properties: createVmCollector({ health: true }).properties ?? [],
    create: (d) =>
      createVmCollector({ ...d.options.vm, infoLabels: promotedLabelNames(d.options.infoLabels) }),
  },
  host: {
    families: hostCollector.families,
    properties: hostCollector.properties ?? [],
    create: (d) =>
      createHostCollector({ ...d.options.host, infoLabels: promotedLabelNames(d.options.infoLabels) }),
  },
  cluster: {
    families: clusterCollector.families,
    properties: clusterCollector.properties ?? [],
    create: (d) => createClusterCollector({ historical: d.options.historical }),
  },
  datastore: {
    families: datastoreCollector.families,
    properties: datastoreCollector.properties ?? [],
    create: (d) => createDatastoreCollector({ historical: d.options.historical }),
  },
  resource_pool: {
    families: resourcePoolCollector.families,
    properties: resourcePoolCollector.properties ?? [],
    create: (d) => createResourcePoolCollector({ historical: d.options.historical }),
  },
  datacenter: {
    families: datacenterCollector.families,
    properties: datacenterCollector.properties ?? [],
    create: () => datacenterCollector,
  },
  alarm: {
    families: alarmCollector.families,
    properties: alarmCollector.properties ?? [],
    create: () => alarmCollector,
  },
  license: {
    families: licenseCollector.families,
    properties: licenseCollector.properties ?? [],
    create: () => licenseCollector,
  },
  certificate: {
    families: certificateCollector.families,
    properties: certificateCollector.properties ?? [],
    create: () => certificateCollector,
  },
  tag: {
    families: TAG_FAMILIES,
    properties: CUSTOM_ATTRIBUTE_PROPERTIES,
    create: (d) => createTagCollector({ infoLabels: d.options.infoLabels }),
  },
  vsan: {
    families: vsanCollector.families,
    properties: vsanCollector.properties ?? [],
    create: () => vsanCollector,
  },
  events: {
    families: eventCollector.families,
    properties: [],
    create: (d) =>
      createEventCollector({
        include: (d.options.events?.include ?? []).map(nameRegExp),
        exclude: (d.options.events?.exclude ?? []).map(nameRegExp),
        ...(d.options.events ? { maxTypes: d.options.events.maxTypes } : {}),
      }),
  },
};

/** Every collector, in the order of src/model/names.ts (the order of the docs and of a scrape). */
export const COLLECTORS: readonly CollectorEntry[] = COLLECTOR_NAMES.map((name) => ({
  name,
  enabledByDefault: COLLECTOR_DEFAULTS[name],
  ...REGISTRATIONS[name],
}));

/** The collectors `enabled` (name → on/off; an absent name takes its default) turns on, built from `deps`. */
export function enabledCollectors(
  enabled: Partial<Record<CollectorName, boolean>>,
  deps: CollectorDeps,
): Collector[] {
  return COLLECTORS.filter((c) => enabled[c.name] ?? c.enabledByDefault).map((c) => c.create(deps));
}

/** Every registered collector's model properties together (what a target with all collectors reads). */
export function allCollectorProperties(): PropertySpec[] {
  return COLLECTORS.flatMap((c) => c.properties);
}
