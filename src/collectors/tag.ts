import type { MetricFamily } from '../exposition/index.js';
import { isVsphereError } from '../vsphere/soap/errors.js';
import type { TagAttachments, TaggingApi } from '../vsphere/rest/tagging.js';
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

/** vsphere_tag_info: one series per (tag, attached object). */
export const TAG_INFO = gauge(
  'vsphere_tag_info',
  'A vSphere tag attached to an object (Automation API cis/tagging: category name, tag name, tag-association list-attached-objects-on-tags); value is always 1.',
  ['category', 'tag', 'object_type', 'object_moid'],
);

/** The tag collector's families: tags and custom attributes of every object. */
export const TAG_FAMILIES = [TAG_INFO, CUSTOM_ATTRIBUTE_INFO];
/** Categories and tag names change rarely: read them again after this long (attachments: every collection). */
export const TAG_NAMES_TTL_MS = 5 * 60_000;

/** Tag id → tag and category name. */
export type TagNames = Map<string, { tag: string; category: string }>;

/** What the tag collector needs: the tagging API and a way to end its REST session. */
export interface TagCollectorDeps {
  tagging: Pick<TaggingApi, 'categories' | 'tags' | 'attachments'>;
  close: () => Promise<void>;
  namesTtlMs?: number;
  now?: () => number;
  /** Tag categories and custom attributes whose values infoLabels() returns. */
  infoLabels?: InfoLabelsOptions;
}

/** One collection's reads: custom attributes from the inventory model, tags over REST (which may fail). */
interface TagRead {
  custom: { entities: EntityValues[]; fields: Map<string, string> };
  rest: Promise<{ tags: TagNames; attachments: TagAttachments[] }>;
}

/** Joins tags with their category names; tags of an unknown category are left out. */
export function joinTagNames(
  categories: ReadonlyMap<string, string>,
  tags: readonly { id: string; name: string; categoryId: string }[],
): TagNames {
  const out: TagNames = new Map();
  for (const t of tags) {
    const category = categories.get(t.categoryId);
    if (category !== undefined) out.set(t.id, { tag: t.name, category });
  }
  return out;
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

/** Tag names from the tagging API, read again only after `ttlMs` (or when forced). */
export class TagNameCache {
  private cache: { names: TagNames; at: number } | undefined;

  constructor(
    private readonly tagging: TagCollectorDeps['tagging'],
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the next get() reads the API. */
  get stale(): boolean {
    return !this.cache || this.now() - this.cache.at >= this.ttlMs;
  }

  /** The cached names, reloaded (categories, then tags) when stale or `force`d. */
  async get(signal: AbortSignal, force = false): Promise<TagNames> {
    if (!force && this.cache && !this.stale) return this.cache.names;
    const categories = await this.tagging.categories(signal);
    const tags = await this.tagging.tags(signal);
    this.cache = { names: joinTagNames(categories, tags), at: this.now() };
    return this.cache.names;
  }
}

/**
 * Tags (vSphere Automation REST API, a second session) and custom attributes (inventory model) of
 * every managed entity. Custom attributes are emitted first, so they survive a failing REST login.
 */
export function createTagCollector(deps: TagCollectorDeps): Collector {
  const cache = new TagNameCache(deps.tagging, deps.namesTtlMs ?? TAG_NAMES_TTL_MS, deps.now);
  // collect() and infoLabels() of one collection share its reads: promotion adds no vCenter calls.
  const reads = new WeakMap<CollectContext, TagRead>();

  async function readAttachments(ctx: CollectContext) {
    const fresh = cache.stale;
    let tags = await cache.get(ctx.signal);
    let attachments: TagAttachments[];
    try {
      attachments = await deps.tagging.attachments([...tags.keys()], ctx.signal);
    } catch (e) {
      // A tag deleted since the names were cached can make vCenter refuse the whole list: reload once.
      if (fresh || !isVsphereError(e, 'VSPHERE_HTTP_STATUS') || (e.statusCode ?? 0) >= 500) throw e;
      tags = await cache.get(ctx.signal, true);
      attachments = await deps.tagging.attachments([...tags.keys()], ctx.signal);
    }
    return { tags, attachments };
  }

  function read(ctx: CollectContext): TagRead {
    let r = reads.get(ctx);
    if (!r) {
      const custom = { entities: readEntities(ctx), fields: readFieldNames(ctx.inventory) };
      const rest = readAttachments(ctx);
      // Whoever reads it handles its failure; this only keeps an unread one from being "unhandled".
      rest.catch(() => undefined);
      r = { custom, rest };
      reads.set(ctx, r);
    }
    return r;
  }

  return {
    name: 'tag',
    properties: CUSTOM_ATTRIBUTE_PROPERTIES,
    families: TAG_FAMILIES,
    async collect(ctx, emit) {
      const r = read(ctx);
      const { entities, fields } = r.custom;
      emit(customAttributeFamily(ctx, entities, fields));
      const { tags, attachments } = await r.rest;
      emit(tagInfoFamily(ctx, attachments, tags, modelObjects(ctx.inventory)));
    },
    async infoLabels(ctx): Promise<PromotedLabels> {
      const r = read(ctx);
      const { entities, fields } = r.custom;
      const { tags, attachments } = await r.rest;
      const values = new Map(entities.map((e) => [e.moid, e.values]));
      return promotedValues(deps.infoLabels ?? { tagCategories: [], customAttributes: [] }, {
        tags,
        attachments,
        values,
        fields,
      });
    },
    close: () => deps.close(),
  };
}
