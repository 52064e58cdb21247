// Pure helpers for `info_labels`: which tag categories and custom attributes become labels of
// vsphere_vm_info / vsphere_host_info, under which names, and with which values.
import type { TagAttachments } from '../vsphere/rest/tagging.js';

/** The `info_labels` section: tag category names and custom attribute names to promote. */
export interface InfoLabelsOptions {
  tagCategories: readonly string[];
  customAttributes: readonly string[];
}

/** For a moid, the promoted label values in label-name order ("" when the object has none). */
export type PromotedLabels = (moid: string) => readonly string[];

/** One configured entry and the label it becomes. */
export interface PromotedLabel {
  key: 'tag_categories' | 'custom_attributes';
  index: number;
  /** The category or attribute name as configured. */
  source: string;
  /** The Prometheus label name (empty when the name sanitises to nothing). */
  label: string;
}

/** Lowercase; every character outside [a-z0-9_] → "_", runs of "_" collapsed, trimmed of "_". */
export function sanitizeLabelPart(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

/** Every configured entry with its label name: tag categories first, then custom attributes. */
export function promotedLabels(options: InfoLabelsOptions): PromotedLabel[] {
  const entry = (key: PromotedLabel['key'], prefix: string) => (source: string, index: number) => {
    const part = sanitizeLabelPart(source);
    return { key, index, source, label: part === '' ? '' : `${prefix}_${part}` };
  };
  return [
    ...options.tagCategories.map(entry('tag_categories', 'tag')),
    ...options.customAttributes.map(entry('custom_attributes', 'attribute')),
  ];
}

/** The label names appended to the info families (empty when nothing is promoted). */
export function promotedLabelNames(options: InfoLabelsOptions): string[] {
  return promotedLabels(options).map((p) => p.label);
}

/** Problems with the configured names: ones that sanitise to nothing, and label name collisions. */
export function infoLabelProblems(options: InfoLabelsOptions): { entry: PromotedLabel; message: string }[] {
  const out: { entry: PromotedLabel; message: string }[] = [];
  const byLabel = new Map<string, PromotedLabel>();
  for (const p of promotedLabels(options)) {
    if (p.label === '') {
      out.push({ entry: p, message: `${JSON.stringify(p.source)} gives an empty label name` });
      continue;
    }
    const first = byLabel.get(p.label);
    if (first)
      out.push({
        entry: p,
        message: `${JSON.stringify(p.source)} (label ${p.label}) collides with info_labels.${first.key}.${first.index} (${JSON.stringify(first.source)})`,
      });
    else byLabel.set(p.label, p);
  }
  return out;
}

/** What the tag collector read in one collection, as far as promotion needs it. */
export interface PromotionSource {
  /** Tag id → tag and category name. */
  tags: ReadonlyMap<string, { tag: string; category: string }>;
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
