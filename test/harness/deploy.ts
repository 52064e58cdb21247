/**
 * Reads the Grafana dashboards and Prometheus rules under deploy/ and pulls PromQL apart, for the
 * dashboard lint test and the end-to-end test against a real Prometheus.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './procs.js';

/** deploy/grafana: one dashboard per .json file. */
export const grafanaDir = join(repoRoot, 'deploy', 'grafana');
/** deploy/prometheus: alerting rules, their unit tests and an example configuration. */
export const prometheusDir = join(repoRoot, 'deploy', 'prometheus');
/** The alerting rules file. */
export const rulesFile = join(prometheusDir, 'vsphere-alerts.yml');
/** The promtool unit tests of the rules. */
export const rulesTestFile = join(prometheusDir, 'vsphere-alerts.test.yml');

/** The parts of a Grafana dashboard the tests look at. */
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Variable[] };
  panels: Panel[];
}
/** A template variable. */
export interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: unknown;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
}
/** A panel (rows included). */
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  targets?: { refId: string; expr?: string; datasource?: unknown }[];
  panels?: Panel[];
}

/** Every dashboard file, parsed. */
export function loadDashboards(): { file: string; text: string; dashboard: Dashboard }[] {
  return readdirSync(grafanaDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(grafanaDir, file), 'utf8');
      return { file, text, dashboard: JSON.parse(text) as Dashboard };
    });
}

/** Panels that show data (rows left out, panels inside collapsed rows included). */
export function dataPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

/** The query text of a variable. */
export function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}

/** `label_values(selector, label)` split into its two arguments; undefined for other queries. */
export function parseLabelValues(query: string): { selector: string; label: string } | undefined {
  const m = /^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(query);
  return m ? { selector: m[1]!.trim(), label: m[2]! } : undefined;
}

/** One alerting or recording rule. */
export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rules of vsphere-alerts.yml, group by group. */
export function loadRules(): { name: string; rules: Rule[] }[] {
  const doc = parseYaml(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  return doc.groups;
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/**
 * Metric names a PromQL expression selects. Strings, label matchers, ranges and grouping label
 * lists are removed first so that label names and values are not taken for metrics; what is left
 * and is not followed by "(" (a function or aggregation) nor a keyword is a metric name.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\S+/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w(])(?!\s*\()/g)) {
    const name = m[1]!;
    if (!KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names].sort();
}

/** Families documented in docs/metrics.md (every `vsphere_…`, `process_…` or `nodejs_…` in code spans). */
export function documentedMetrics(): Set<string> {
  const doc = readFileSync(join(repoRoot, 'docs', 'metrics.md'), 'utf8');
  return new Set([...doc.matchAll(/`((?:vsphere|process|nodejs)_[a-z0-9_]+)`/g)].map((m) => m[1]!));
}

/** prom-client's default metrics (collectDefaultMetrics) that the exporter appends to every scrape. */
export const PROM_CLIENT_METRICS = new Set([
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_open_fds',
  'process_max_fds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_heap_space_size_total_bytes',
  'nodejs_heap_space_size_used_bytes',
  'nodejs_heap_space_size_available_bytes',
  'nodejs_version_info',
  'nodejs_gc_duration_seconds',
]);

/**
 * Series Prometheus itself attaches to every target (scrape_timeout_seconds only with
 * --enable-feature=extra-scrape-metrics).
 */
export const PROMETHEUS_TARGET_METRICS = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
  'scrape_timeout_seconds',
  'scrape_sample_limit',
]);
