import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { COLLECTORS } from '../../../src/collectors/registry.js';
import { METRICS_DOC, renderCollectorTables, replaceGenerated } from '../../../scripts/metrics-doc.js';

void describe('metric reference (docs/metrics.md)', () => {
  void it('is generated from the current FamilyDefs (run: node --import tsx scripts/metrics-doc.ts)', () => {
    const doc = readFileSync(METRICS_DOC, 'utf8');
    assert.equal(replaceGenerated(doc, renderCollectorTables(COLLECTORS)), doc);
  });

  void it('every family name is unique, follows vsphere_<kind>_… and has help naming its source', () => {
    const seen = new Map<string, string>();
    for (const c of COLLECTORS) {
      for (const f of c.families) {
        assert.match(f.name, /^vsphere_[a-z]+(_[a-z0-9]+)+$/, f.name);
        assert.ok(!seen.has(f.name), `${f.name} declared by ${seen.get(f.name)} and ${c.name}`);
        seen.set(f.name, c.name);
        assert.ok(f.help.length > 10 && f.help.endsWith('.'), `help of ${f.name}: ${f.help}`);
        assert.equal(new Set(f.labels).size, f.labels.length, `duplicate label in ${f.name}`);
      }
    }
  });
});
