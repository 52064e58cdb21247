// Names config/ validates and collectors/ use, kept free of imports so the config never loads a collector.

/**
 * Every collector name with whether it runs by default, in registry order (tags need a second,
 * REST session, events one ReadNextEvents per scrape: opt-in). src/collectors/registry.ts gives each its families and factory.
 */
export const COLLECTOR_DEFAULTS = {
  vm: true,
  host: true,
  cluster: true,
  datastore: true,
  resource_pool: true,
  datacenter: true,
  alarm: true,
  license: true,
  certificate: true,
  tag: false,
  vsan: true,
  events: false,
} as const;

/** A collector's name, as used in `collectors.<name>` and `--collector.<name>`. */
export type CollectorName = keyof typeof COLLECTOR_DEFAULTS;

/** All collector names, in registry order. */
export const COLLECTOR_NAMES = Object.keys(COLLECTOR_DEFAULTS) as CollectorName[];

/** `group.name.rollup` as vCenter's catalogue names a counter (`vm.extra_counters`, `host.extra_counters`). */
export const COUNTER_NAME_RE =
  /^[a-zA-Z][a-zA-Z0-9]*\.[a-zA-Z][a-zA-Z0-9]*\.(average|summation|latest|maximum|minimum|none)$/;
