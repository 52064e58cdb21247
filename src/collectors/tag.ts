import type { MetricFamily } from '../exposition/index.js';
import { family, gauge, type CollectContext, type Collector } from './collector.js';
import {
  CUSTOM_ATTRIBUTE_INFO,
  CUSTOM_ATTRIBUTE_PROPERTIES,
  customAttributeFamily,
  readEntities,
  readFieldNames,
  type EntityValues,
} from './custom-attribute.js';
import type { InfoLabelsOptions } from '../model/info-labels.js';
import { promotedValues, type PromotedLabels } from './info-labels.js';
import { allowsObject, type KnownObject } from './object-kind.js';
import type { Inventory } from '../vsphere/inventory.js';
import type { TagAttachments, TagNames, TagSnapshot } from '../vsphere/tag-data.js';

/** vsphere_tag_info: one series per (tag, attached object). */
export const TAG_INFO = gauge(
  'vsphere_tag_info',
  'A vSphere tag attached to an object (Automation API cis/tagging: category name, tag name, tag-association list-attached-objects-on-tags); value is always 1.',
  ['category', 'tag', 'object_type', 'object_moid'],
);

/** The tag collector's families: tags and custom attributes of every object. */
export const TAG_FAMILIES = [TAG_INFO, CUSTOM_ATTRIBUTE_INFO];

/** What the tag collector is built from. */
export interface TagCollectorOptions {
  /** Tag categories and custom attributes whose values infoLabels() returns. */
  infoLabels?: InfoLabelsOptions;
}

/** One collection's custom attributes, read from the inventory model. */
interface CustomRead {
  entities: EntityValues[];
  fields: Map<string, string>;
}

/** Objects' names and inventory paths by moid, as the filter sees them. */
export type KnownObjects = Pick<ReadonlyMap<string, KnownObject>, 'get'>;

/** Every object of the inventory model by its name and path. */
export function modelObjects(inv: Inventory): KnownObjects {
  return {
    get: (moid) => {
      const node = inv.tree.get(moid);
      // A getter: allowsObject reads the path only for kinds with filter rules, and thousands of
      // tagged VMs need not each have their path built (and kept by the tree) for nothing.
      return (
        node && {
          name: node.name,
          get path() {
            return inv.path(moid);
          },
        }
      );
    },
  };
}

/**
 * The tag family: one series per attachment of a known tag to an object the filter allows;
 * `known` gives objects' names and inventory paths for the filter (moid → name, path).
 */
export function tagInfoFamily(
  ctx: CollectContext,
  attachments: readonly TagAttachments[],
  tags: TagNames,
  known: KnownObjects,
): MetricFamily {
  const out = family(TAG_INFO);
  const seen = new Set<string>();
  for (const a of attachments) {
    const t = tags.get(a.tagId);
    if (!t) continue;
    for (const o of a.objects) {
      const key = JSON.stringify([a.tagId, o.type, o.moid]);
      if (seen.has(key) || !allowsObject(ctx, o.type, o.moid, known.get(o.moid))) continue;
      seen.add(key);
      out.add([t.category, t.tag, o.type, o.moid], 1);
    }
  }
  return out;
}

/** This collection's tags from the target's tag source (ctx.tags): one read, shared by whoever asks. */
function tagsOf(ctx: CollectContext): Promise<TagSnapshot> {
  return ctx.tags ? ctx.tags() : Promise.reject(new Error('no tag source in this collection'));
}

/**
 * Tags (vSphere Automation REST API, read by the target's tag source) and custom attributes
 * (inventory model) of every managed entity. Custom attributes are emitted first, so they survive
 * a failing REST read.
 */
export function createTagCollector(options: TagCollectorOptions = {}): Collector {
  // collect() and infoLabels() of one collection decode the attributes once.
  const reads = new WeakMap<CollectContext, CustomRead>();
  const custom = (ctx: CollectContext): CustomRead => {
    let r = reads.get(ctx);
    if (!r) reads.set(ctx, (r = { entities: readEntities(ctx), fields: readFieldNames(ctx.inventory) }));
    return r;
  };

  return {
    name: 'tag',
    properties: CUSTOM_ATTRIBUTE_PROPERTIES,
    families: TAG_FAMILIES,
    async collect(ctx, emit) {
      const { entities, fields } = custom(ctx);
      emit(customAttributeFamily(ctx, entities, fields));
      const { tags, attachments } = await tagsOf(ctx);
      emit(tagInfoFamily(ctx, attachments, tags, modelObjects(ctx.inventory)));
    },
    async infoLabels(ctx): Promise<PromotedLabels> {
      const { entities, fields } = custom(ctx);
      const { tags, attachments } = await tagsOf(ctx);
      const values = new Map(entities.map((e) => [e.moid, e.values]));
      return promotedValues(options.infoLabels ?? { tagCategories: [], customAttributes: [] }, {
        tags,
        attachments,
        values,
        fields,
      });
    },
  };
}
