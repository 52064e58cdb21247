// Pure helpers for `info_labels`, shared by config/ (validation) and collectors/ (label names):
// which tag categories and custom attributes become labels of vsphere_vm_info / vsphere_host_info,
// and under which names. Kept free of imports.

/** The `info_labels` section: tag category names and custom attribute names to promote. */
export interface InfoLabelsOptions {
  tagCategories: readonly string[];
  customAttributes: readonly string[];
}

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
