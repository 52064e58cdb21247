import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dataPanels,
  documentedMetrics,
  loadDashboards,
  metricNames,
  parseLabelValues,
  PROM_CLIENT_METRICS,
  PROMETHEUS_TARGET_METRICS,
  variableQuery,
} from '../../harness/deploy.js';

const DS_VAR = { type: 'prometheus', uid: '${datasource}' };
const dashboards = loadDashboards();
const known = new Set([...documentedMetrics(), ...PROM_CLIENT_METRICS, ...PROMETHEUS_TARGET_METRICS]);

/** Every `datasource` value anywhere in the JSON, with where it was found. */
function datasources(node: unknown, path: string, out: { path: string; value: unknown }[] = []) {
  if (Array.isArray(node)) node.forEach((n, i) => datasources(n, `${path}[${i}]`, out));
  else if (node !== null && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (k === 'datasource') out.push({ path: `${path}.${k}`, value: v });
      datasources(v, `${path}.${k}`, out);
    }
  return out;
}

void describe('metricNames (PromQL metric name extraction)', () => {
  void it('finds selected metrics, not functions, keywords, labels, strings or durations', () => {
    assert.deepEqual(
      metricNames(
        'sum by (state) (rate(a_total{job=~"$job",x="b_c"}[$__rate_interval])) / on(job, vm_moid) group_left(host) b_info ' +
          'and c offset 6h > 1e9 or vector(0) unless label_replace(d, "e", "$1", "f", "(.*)") * time()',
      ),
      ['a_total', 'b_info', 'c', 'd'],
    );
  });
});

void describe('Grafana dashboards (deploy/grafana)', () => {
  void it('there are the five dashboards, with unique uids and titles', () => {
    assert.deepEqual(
      dashboards.map((d) => d.file),
      [
        'vsphere-capacity.json',
        'vsphere-exporter.json',
        'vsphere-host.json',
        'vsphere-overview.json',
        'vsphere-vm.json',
      ],
    );
    assert.equal(new Set(dashboards.map((d) => d.dashboard.uid)).size, dashboards.length);
    assert.equal(new Set(dashboards.map((d) => d.dashboard.title)).size, dashboards.length);
  });

  for (const { file, text, dashboard: d } of dashboards) {
    void describe(file, () => {
      void it('is a dashboard of schemaVersion ≥ 36 with a Prometheus data source variable', () => {
        assert.ok(d.schemaVersion >= 36, `schemaVersion ${d.schemaVersion}`);
        const ds = d.templating.list.find((v) => v.name === 'datasource');
        assert.ok(ds, 'a variable named datasource');
        assert.equal(ds.type, 'datasource');
        assert.equal(ds.query, 'prometheus');
        assert.ok(!/"uid":\s*"(?!\$\{datasource\}|vsphere-|-- Grafana --)/.test(text), 'no hard-coded uid');
      });

      void it('every datasource reference is the ${datasource} variable', () => {
        const refs = datasources(d, file);
        assert.ok(refs.length > 0);
        for (const { path, value } of refs) {
          // The built-in annotation query is Grafana's own, not a Prometheus data source.
          if (path.includes('.annotations.')) {
            assert.deepEqual(value, { type: 'grafana', uid: '-- Grafana --' }, path);
            continue;
          }
          assert.deepEqual(value, DS_VAR, path);
        }
      });

      void it('job, instance and inventory variables are label_values over *_info metrics, "All" = .*', () => {
        const vars = d.templating.list.filter((v) => v.type === 'query');
        assert.deepEqual(
          vars.map((v) => v.name).slice(0, 2),
          ['job', 'instance'],
          'job and instance come first',
        );
        for (const v of vars) {
          const lv = parseLabelValues(variableQuery(v));
          assert.ok(lv, `${v.name}: ${variableQuery(v)}`);
          assert.equal(lv.label, v.name, `${v.name} lists its own label`);
          const [metric, ...rest] = metricNames(lv.selector);
          assert.ok(
            metric !== undefined && metric.endsWith('_info') && rest.length === 0,
            `${v.name} reads one *_info metric`,
          );
          assert.ok(known.has(metric), `${metric} is a documented metric`);
          assert.deepEqual(v.datasource, DS_VAR);
          if (v.includeAll) assert.equal(v.allValue, '.*', `${v.name}: All must also match empty labels`);
        }
      });

      void it('every panel has a query, an id and a title; ids are unique', () => {
        const panels = dataPanels(d);
        assert.ok(panels.length >= 10, `${panels.length} panels`);
        assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length);
        for (const p of panels) {
          assert.ok(p.title, `panel ${p.id} has a title`);
          assert.ok(p.targets && p.targets.length > 0, `${p.title} has targets`);
          for (const t of p.targets)
            assert.ok(t.expr && t.expr.trim() !== '', `${p.title}/${t.refId} has expr`);
        }
      });

      void it('every metric it references exists (docs/metrics.md, prom-client, Prometheus, pending)', () => {
        const used = new Set<string>();
        for (const p of dataPanels(d))
          for (const t of p.targets ?? []) for (const n of metricNames(t.expr ?? '')) used.add(n);
        assert.ok(used.size > 0);
        const unknown = [...used].filter((n) => !known.has(n));
        assert.deepEqual(unknown, [], `unknown metric names in ${file}`);
      });

      void it('every reference to a variable names a defined one', () => {
        const defined = new Set(d.templating.list.map((v) => v.name));
        const builtin = new Set(['__rate_interval', '__interval', '__range']);
        for (const m of text.matchAll(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)/g))
          assert.ok(defined.has(m[1]!) || builtin.has(m[1]!), `$${m[1]} is not a variable of ${file}`);
      });
    });
  }
});
