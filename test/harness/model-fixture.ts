// Inventories for collector unit tests, built by the model's own pure builder from property XML.
import pino from 'pino';
import type { CollectContext, Collector, ObjectFilter } from '../../src/collectors/collector.js';
import { ALLOW_ALL } from '../../src/collectors/collector.js';
import { filterInventory } from '../../src/collectors/filter.js';
import { encodeFamilies, type MetricFamily } from '../../src/exposition/index.js';
import { buildInventory, type Inventory, type InventoryExtras } from '../../src/vsphere/inventory.js';
import type { ObjectContent } from '../../src/vsphere/property-collector.js';
import { parseXml, type XmlNode } from '../../src/vsphere/soap/xml.js';
import { parsePrometheusText, type Sample } from './prom-text.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

/** A property value element `<val>` holding `inner` (already XML); `xsiType` as vCenter sends it. */
export const val = (inner: string, xsiType?: string): string =>
  xsiType === undefined ? `<val>${inner}</val>` : `<val ${XSI} xsi:type="${xsiType}">${inner}</val>`;

/** A ManagedObjectReference value. */
export const ref = (type: string, moid: string): string => `<val type="${type}">${moid}</val>`;

/** One object as RetrievePropertiesEx returns it: path → `<val>` XML. Entries keep their order. */
export function obj(
  type: string,
  moid: string,
  props: readonly (readonly [string, string])[],
): ObjectContent {
  return { obj: { type, value: moid }, props: new Map(props.map(([k, xml]) => [k, parseXml(xml)])) };
}

/** The `<val>` of a singleton's property, parsed. */
export const singleton = (props: readonly (readonly [string, string])[]): Map<string, XmlNode> =>
  new Map(props.map(([k, xml]) => [k, parseXml(xml)]));

/** An inventory of `objects`, under the root folder group-d1 unless told otherwise. */
export function inventoryOf(objects: readonly ObjectContent[], extras: InventoryExtras = {}): Inventory {
  return buildInventory(objects, { rootFolder: 'group-d1', ...extras });
}

/** What a collector gets for one collection over `whole`, filtered as the scraper filters it. */
export function contextOf(whole: Inventory, filter: ObjectFilter = ALLOW_ALL): CollectContext {
  return {
    inventory: filterInventory(whole, filter),
    wholeInventory: whole,
    filter,
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
  } as unknown as CollectContext;
}

/** The samples `collector` emits for `ctx`, parsed back from the exposition text. */
export async function collectSamples(collector: Collector, ctx: CollectContext): Promise<Sample[]> {
  const families: MetricFamily[] = [];
  await collector.collect(ctx, (f) => families.push(f));
  return parsePrometheusText(encodeFamilies(families).toString()).samples;
}
