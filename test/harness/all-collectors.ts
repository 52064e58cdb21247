/** Every registered collector, built with default options and a tag REST session that is never opened. */
import { COLLECTORS } from '../../src/collectors/registry.js';
import type { Collector } from '../../src/collectors/collector.js';
import type { CollectorOptions } from '../../src/config/schema.js';

const OPTIONS: CollectorOptions = {
  vm: { snapshotTimestamps: false, instanceMetrics: false, extraCounters: [] },
  host: { extraCounters: [] },
  historical: false,
  infoLabels: { tagCategories: [], customAttributes: [] },
};

/** Each collector of the registry (enabled by default or not), for tests that read what they all declare. */
export const ALL_COLLECTORS: readonly Collector[] = COLLECTORS.map((c) =>
  c.create({
    options: OPTIONS,
    openTagging: () => ({
      tagging: {
        categories: () => Promise.resolve(new Map<string, string>()),
        tags: () => Promise.resolve([]),
        attachments: () => Promise.resolve([]),
      },
      close: () => Promise.resolve(),
    }),
  }),
);
