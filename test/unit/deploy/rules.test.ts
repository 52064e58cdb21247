import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  documentedMetrics,
  loadRules,
  metricNames,
  PROM_CLIENT_METRICS,
  PROMETHEUS_TARGET_METRICS,
  prometheusDir,
  rulesFile,
  rulesTestFile,
} from '../../harness/deploy.js';

/** Runs promtool (Debian's prometheus package) to completion; never rejects on a non-zero exit. */
function promtool(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile('promtool', args, { cwd: prometheusDir, timeout: 60_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err && typeof err.code !== 'number') reject(new Error(`cannot run promtool: ${err.message}`));
      else resolve({ code: typeof err?.code === 'number' ? err.code : 0, output });
    });
  });
}

const rules = loadRules().flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert !== undefined);

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}
const unitTests = (
  parseYaml(readFileSync(rulesTestFile, 'utf8')) as {
    tests: { alert_rule_test?: AlertTest[] }[];
  }
).tests.flatMap((t) => t.alert_rule_test ?? []);

void describe('Prometheus alerting rules (deploy/prometheus)', () => {
  void it('promtool check rules: no error, no warning', async () => {
    const r = await promtool(['check', 'rules', rulesFile]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
    assert.doesNotMatch(r.output, /WARNING|FAILED/);
  });

  void it('promtool test rules: every unit test passes', async () => {
    const r = await promtool(['test', 'rules', rulesTestFile]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  });

  void it('promtool check config accepts the example prometheus.yml (with the rules it loads)', async () => {
    const r = await promtool(['check', 'config', join(prometheusDir, 'prometheus.yml')]);
    assert.equal(r.code, 0, r.output);
  });

  void it('every alert is unit-tested both firing and not firing', () => {
    assert.ok(alerts.length >= 20, `${alerts.length} alerts`);
    for (const a of alerts) {
      const mine = unitTests.filter((t) => t.alertname === a.alert);
      assert.ok(
        mine.some((t) => (t.exp_alerts ?? []).length > 0),
        `${a.alert} has a unit test where it fires`,
      );
      assert.ok(
        mine.some((t) => (t.exp_alerts ?? []).length === 0),
        `${a.alert} has a unit test where it does not fire`,
      );
    }
    const names = new Set(alerts.map((a) => a.alert));
    for (const t of unitTests)
      assert.ok(names.has(t.alertname), `unit test for unknown alert ${t.alertname}`);
  });

  void it('every alert has a unique name, for:, a severity and summary/description using labels', () => {
    assert.equal(new Set(alerts.map((a) => a.alert)).size, alerts.length);
    for (const a of alerts) {
      assert.match(a.alert!, /^Vsphere[A-Z][A-Za-z]+$/);
      assert.ok(a.for !== undefined, `${a.alert} has for:`);
      assert.ok(['critical', 'warning', 'info'].includes(a.labels?.severity ?? ''), `${a.alert} severity`);
      assert.ok(a.annotations?.summary, `${a.alert} summary`);
      assert.ok(a.annotations?.description, `${a.alert} description`);
      assert.match(
        `${a.annotations.summary} ${a.annotations.description}`,
        /\{\{ \$labels\.\w+ \}\}/,
        `${a.alert} annotations name the object`,
      );
    }
  });

  void it('rules reference only metrics that exist', () => {
    const known = new Set([...documentedMetrics(), ...PROM_CLIENT_METRICS, ...PROMETHEUS_TARGET_METRICS]);
    for (const r of rules)
      for (const n of metricNames(r.expr)) assert.ok(known.has(n), `${r.alert ?? r.record}: unknown ${n}`);
  });
});
