import type { CollectContext, Collector, ObjectFilter } from '../../../src/collectors/collector.js';
import type { MetricFamily } from '../../../src/exposition/index.js';
import { buildInventory, type Inventory } from '../../../src/vsphere/inventory.js';
import type { ObjectContent } from '../../../src/vsphere/property-collector.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';

/** One object as the model reads it: type, moid and its properties as `<val>` XML. */
export const obj = (type: string, value: string, props: Record<string, string>): ObjectContent => ({
  obj: { type, value },
  props: new Map(Object.entries(props).map(([k, xml]) => [k, parseXml(xml)])),
});
/** A ManagedObjectReference property value. */
export const ref = (type: string, v: string): string => `<val type="${type}">${v}</val>`;
/** A plain property value. */
export const val = (v: string): string => `<val>${v}</val>`;

/** The model of `objects` under the root folder "root" (whose children have paths "/name"). */
export const model = (objects: readonly ObjectContent[]): Inventory =>
  buildInventory(objects, { rootFolder: 'root' });

/**
 * Runs a collector on a model alone: the context has no client (a collector reaching for one
 * throws) and no perf manager. Returns every sample as `name{labels} value`, one per line.
 */
export async function collectText(
  collector: Collector,
  inventory: Inventory,
  options: { whole?: Inventory; filter?: ObjectFilter } = {},
): Promise<string> {
  const ctx = {
    inventory,
    ...(options.whole && { wholeInventory: options.whole }),
    filter: options.filter ?? { allows: () => true },
    signal: new AbortController().signal,
  } as unknown as CollectContext;
  const fams: MetricFamily[] = [];
  await collector.collect(ctx, (f) => fams.push(f));
  return fams.flatMap((f) => f.labelBlocks.map((b, i) => `${f.name}${b} ${f.values[i]}`)).join('\n');
}

/** The samples of `text` whose line starts with `prefix` (sorted, for order-free comparison). */
export const samples = (text: string, prefix: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .sort();
