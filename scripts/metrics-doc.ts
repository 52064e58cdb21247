/**
 * Generates the per-collector tables of docs/metrics.md from the collector registry's entries, so the
 * reference cannot drift from the code. `node --import tsx scripts/metrics-doc.ts` rewrites the
 * file; test/unit/docs/metrics-doc.test.ts fails when it is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COLLECTORS, type CollectorEntry } from '../src/collectors/registry.js';

/** docs/metrics.md. */
export const METRICS_DOC = fileURLToPath(new URL('../docs/metrics.md', import.meta.url));
const BEGIN = '<!-- BEGIN GENERATED: node --import tsx scripts/metrics-doc.ts -->';
const END = '<!-- END GENERATED -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The generated Markdown: one table per collector, families in declaration order. */
export function renderCollectorTables(collectors: readonly CollectorEntry[]): string {
  const out: string[] = [];
  for (const c of collectors) {
    const on = c.enabledByDefault ? 'on by default' : 'off by default';
    out.push(
      `### Collector \`${c.name}\` (${on}; \`--no-collector.${c.name}\` / \`--collector.${c.name}\`)`,
      '',
    );
    out.push('| Metric | Type | Labels | Meaning and vCenter source |', '| --- | --- | --- | --- |');
    for (const f of c.families) {
      const labels = f.labels.map((l) => `\`${l}\``).join(', ');
      out.push(`| \`${f.name}\` | ${f.type} | ${labels} | ${cell(f.help)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** `doc` with the generated section replaced by `tables`; throws when the markers are missing. */
export function replaceGenerated(doc: string, tables: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/metrics.md lacks the ${BEGIN} … ${END} markers`);
  return `${doc.slice(0, a + BEGIN.length)}\n\n${tables}\n${doc.slice(b)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(METRICS_DOC, 'utf8');
  const next = replaceGenerated(doc, renderCollectorTables(COLLECTORS));
  if (next !== doc) writeFileSync(METRICS_DOC, next);
  console.log(next === doc ? 'docs/metrics.md: up to date' : 'docs/metrics.md: updated');
}
