import type { MetricFamily } from '../exposition/index.js';
import type { Inventory } from '../vsphere/inventory.js';
import type { PropertySpec, XmlNode } from '../vsphere/answer-data.js';
import { family, gauge, type CollectContext } from './collector.js';
import { MANAGED_ENTITY_TYPES, specsFor } from './entity-types.js';
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
 * What custom attributes need from the model: every managed entity's customValue, and the
 * attribute definitions. Declared by the collector that exports them, so without it the model
 * reads neither.
 */
export const CUSTOM_ATTRIBUTE_PROPERTIES: readonly PropertySpec[] = [
  ...specsFor(MANAGED_ENTITY_TYPES, ['customValue']),
  { type: 'CustomFieldsManager', pathSet: ['field'] },
];

/**
 * Every managed entity with custom values (VMs and hosts unfiltered, as promotion needs them), with
 * its name, and its inventory path where a filter of its kind may need it (pure).
 */
export function readEntities(ctx: Pick<CollectContext, 'inventory' | 'filter'>): EntityValues[] {
  const inv = ctx.inventory;
  const out: EntityValues[] = [];
  for (const type of MANAGED_ENTITY_TYPES) {
    const kind = kindOfType(type);
    // Paths are walked only for kinds with filter rules: without them no path is ever built.
    const filtered = kind !== undefined && ctx.filter.filters?.(kind) !== false;
    for (const { obj, props } of inv.objects(type)) {
      const values = decodeCustomValues(props.get('customValue'));
      if (values.size === 0) continue;
      const moid = obj.value;
      out.push({
        type,
        moid,
        name: inv.tree.get(moid)?.name,
        ...(filtered && { path: inv.path(moid) }),
        values,
      });
    }
  }
  return out;
}

/** The custom attribute definitions (key → name); empty when the endpoint has no CustomFieldsManager. */
export function readFieldNames(inv: Inventory): Map<string, string> {
  return decodeFieldDefs(inv.singleton('CustomFieldsManager')?.get('field'));
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
