// The values of `info_labels` promoted to labels of vsphere_vm_info / vsphere_host_info, from what
// the tag collector read; the label names are src/model/info-labels.ts.
import type { TagAttachments, TagNames } from '../vsphere/tag-data.js';
import type { InfoLabelsOptions } from '../model/info-labels.js';

/** For a moid, the promoted label values in label-name order ("" when the object has none). */
export type PromotedLabels = (moid: string) => readonly string[];

/** What the tag collector read in one collection, as far as promotion needs it. */
export interface PromotionSource {
  /** Tag id → tag and category name. */
  tags: TagNames;
  attachments: readonly TagAttachments[];
  /** moid → custom field key → value. */
  values: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Custom field key → attribute name. */
  fields: ReadonlyMap<string, string>;
}

/**
 * The label values per moid: a category's tags on the object sorted and joined with "," (a
 * category can allow several tags per object), an attribute's value, else "".
 */
export function promotedValues(options: InfoLabelsOptions, src: PromotionSource): PromotedLabels {
  const categories = new Map(options.tagCategories.map((c, i) => [c, i]));
  const tagsOf = new Map<string, Set<string>[]>();
  for (const a of src.attachments) {
    const t = src.tags.get(a.tagId);
    const i = t && categories.get(t.category);
    if (i === undefined) continue;
    for (const o of a.objects) {
      let sets = tagsOf.get(o.moid);
      if (!sets) tagsOf.set(o.moid, (sets = options.tagCategories.map(() => new Set<string>())));
      sets[i]!.add(t!.tag);
    }
  }
  // Custom fields are defined per managed object type, so one attribute name can have several keys.
  const keysOf = options.customAttributes.map(
    (name) => new Set([...src.fields].filter(([, n]) => n === name).map(([k]) => k)),
  );
  return (moid) => {
    const sets = tagsOf.get(moid);
    const tags = options.tagCategories.map((_, i) => [...(sets?.[i] ?? [])].sort().join(','));
    const values = src.values.get(moid);
    const attrs = keysOf.map((keys) => {
      for (const k of keys) {
        const v = values?.get(k);
        if (v !== undefined) return v;
      }
      return '';
    });
    return [...tags, ...attrs];
  };
}
