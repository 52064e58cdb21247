// Kept free of imports so the config schema can validate collector names without loading collectors.

/** Every collector name with whether it runs by default (tags need a second, REST session: opt-in). */
export const COLLECTOR_DEFAULTS = {
  vm: true,
  host: true,
  cluster: true,
  datastore: true,
  resource_pool: true,
  datacenter: true,
  alarm: true,
  tag: false,
} as const;

/** A collector's name, as used in `collectors.<name>` and `--collector.<name>`. */
export type CollectorName = keyof typeof COLLECTOR_DEFAULTS;

/** All collector names, in registry order. */
export const COLLECTOR_NAMES = Object.keys(COLLECTOR_DEFAULTS) as CollectorName[];
