import type { MetricFamily } from '../exposition/index.js';
import { retrieveAll, retrieveOne } from '../vsphere/property-collector.js';
import type { XmlNode } from '../vsphere/soap/xml.js';
import { family, gauge, type CollectContext } from './collector.js';
import { EntityTree } from '../vsphere/entity-tree.js';
import { allowsObject, kindOfType } from './object-kind.js';

/** vsphere_custom_attribute_info: one series per (object, custom attribute) with a value. */
export const CUSTOM_ATTRIBUTE_INFO = gauge(
  'vsphere_custom_attribute_info',
  'Custom attribute value set on a managed entity (ManagedEntity.customValue, named by CustomFieldsManager.field); value is always 1.',
  ['object_type', 'object_moid', 'attribute', 'value'],
);

/** A managed entity's name, inventory path (when a filter needs it) and custom attribute values (field key → value). */
export interface EntityValues {
  type: string;
  moid: string;
  name?: string;
  path?: string;
  values: Map<string, string>;
}

/** CustomFieldsManager.field (ArrayOfCustomFieldDef) → field key → attribute name. */
export function decodeFieldDefs(val: XmlNode | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const def of val?.children ?? []) {
    const key = def.children.find((c) => c.name === 'key')?.text.trim();
    const name = def.children.find((c) => c.name === 'name')?.text;
    if (key && name !== undefined) out.set(key, name);
  }
  return out;
}

/** ManagedEntity.customValue (ArrayOfCustomFieldValue) → field key → string value. */
export function decodeCustomValues(val: XmlNode | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of val?.children ?? []) {
    // Only CustomFieldStringValue carries a value; a later entry for the same key wins (vcsim's
    // SetField appends instead of replacing).
    const key = v.children.find((c) => c.name === 'key')?.text.trim();
    const value = v.children.find((c) => c.name === 'value');
    if (key && value) out.set(key, value.text);
  }
  return out;
}

/**
 * Every managed entity's name and custom values (one view over ManagedEntity, always destroyed),
 * with its inventory path where a `paths` filter of its kind may need it.
 */
export async function readEntities(ctx: CollectContext): Promise<EntityValues[]> {
  const objects = await retrieveAll(
    ctx.client,
    [{ type: 'ManagedEntity', pathSet: ['name', 'parent', 'customValue'] }],
    ctx.signal,
  );
  const root = (await ctx.client.content(ctx.signal)).rootFolder.value;
  // Paths are walked only for kinds with filter rules: without them no path is ever read.
  let tree: EntityTree | undefined;
  return objects.map((o) => {
    const kind = kindOfType(o.obj.type);
    const filtered = kind !== undefined && ctx.filter.filters?.(kind) !== false;
    if (filtered) tree ??= EntityTree.fromObjects(objects, root);
    return {
      type: o.obj.type,
      moid: o.obj.value,
      name: o.props.get('name')?.text,
      ...(filtered && { path: tree!.path(o.obj.value) }),
      values: decodeCustomValues(o.props.get('customValue')),
    };
  });
}

/** The custom attribute definitions (key → name); empty when ServiceContent names no CustomFieldsManager. */
export async function readFieldNames(ctx: CollectContext): Promise<Map<string, string>> {
  const content = await ctx.client.content(ctx.signal);
  if (!content.customFieldsManager) return new Map();
  const props = await retrieveOne(ctx.client, content.customFieldsManager, ['field'], ctx.signal);
  return decodeFieldDefs(props.get('field'));
}

/** The custom attribute family for `entities` the filter allows; values of undefined keys are skipped. */
export function customAttributeFamily(
  ctx: CollectContext,
  entities: readonly EntityValues[],
  fields: ReadonlyMap<string, string>,
): MetricFamily {
  const out = family(CUSTOM_ATTRIBUTE_INFO);
  for (const e of entities) {
    if (e.values.size === 0 || !allowsObject(ctx, e.type, e.moid, e)) continue;
    for (const [key, value] of e.values) {
      const attribute = fields.get(key);
      // A value whose definition was removed in between has no name to export it under.
      if (attribute !== undefined) out.add([e.type, e.moid, attribute, value], 1);
    }
  }
  return out;
}
