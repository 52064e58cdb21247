import type { CounterProblem } from './counters.js';
import { countsText, type KindCount } from './filter-counts.js';
import type { StatsInterval } from './vcenter-reads.js';

/** What `check` found for one target; every field but the identity is absent when not reached. */
export interface TargetReport {
  target: string;
  /** SDK URL (never carries credentials: the config refuses user-info in URLs). */
  url: string;
  user: string;
  /** Failures that make `check` exit 1, each naming what is wrong. */
  problems: string[];
  /** Worth knowing, but the exporter works. */
  warnings: string[];
  about?: {
    fullName: string;
    name: string;
    version: string;
    build: string;
    apiType: string;
    apiVersion: string;
  };
  /** PerformanceManager.historicalInterval. */
  intervals?: StatsInterval[];
  maxQueryMetrics?: {
    /** What the exporter will use. */
    effective: number;
    /** config.vpxd.stats.maxQueryMetrics, when vCenter has the option. */
    vcenter?: number;
    /** max_query_metrics from the exporter's config, when set. */
    configured?: number;
  };
  counters?: { checked: number; problems: CounterProblem[] };
  privileges?: { checked: readonly string[]; missing: string[] };
  /** Per filter kind: objects on vCenter and how many the target's filters keep. */
  objects?: KindCount[];
  loggedOut?: boolean;
}

/** The whole run: one report per target, in config order. */
export interface CheckReport {
  targets: TargetReport[];
}

/** 0 when no target has a problem, 1 otherwise. */
export function exitCode(report: CheckReport): 0 | 1 {
  return report.targets.some((t) => t.problems.length > 0) ? 1 : 0;
}

const pad = (label: string): string => `  ${`${label}:`.padEnd(18)}`;

// vCenter's strings (names, versions, fault texts) reach the terminal: a control character among
// them (an escape sequence, a line feed) could recolour it or fake a line of the report.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const visible = (line: string): string =>
  line.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

function formatIntervals(intervals: readonly StatsInterval[]): string {
  // Levels only decide what is rolled up into historical intervals: realtime keeps every counter.
  const rt = 'realtime 20 s: all counters';
  if (intervals.length === 0) return `${rt}; no historical intervals reported`;
  const parts = intervals.map((i) => {
    const level = i.level === undefined ? 'level unset' : `level ${i.level}`;
    const label = i.name === '' ? `${i.samplingPeriodSeconds} s` : `${i.name} (${i.samplingPeriodSeconds} s)`;
    return `${label}: ${level}, ${i.enabled ? 'enabled' : 'disabled'}`;
  });
  return [rt, ...parts].join('; ');
}

function formatMaxQueryMetrics(m: NonNullable<TargetReport['maxQueryMetrics']>): string {
  const vc =
    m.vcenter === undefined
      ? 'config.vpxd.stats.maxQueryMetrics not set on the server'
      : `config.vpxd.stats.maxQueryMetrics = ${m.vcenter}`;
  if (m.configured !== undefined) return `${m.effective} (max_query_metrics in the config; ${vc})`;
  return `${m.effective} (${m.vcenter === undefined ? `exporter default; ${vc}` : vc})`;
}

/** Human-readable report: a status line per target, then what was found, then a summary line. */
export function formatText(report: CheckReport): string {
  const lines: string[] = [];
  for (const t of report.targets) {
    const ok = t.problems.length === 0;
    lines.push(`target ${t.target} (${t.url} as ${t.user}): ${ok ? 'OK' : 'FAILED'}`);
    if (t.about) {
      const a = t.about;
      lines.push(
        `${pad('server')}${a.name} ${a.version} build ${a.build} (${a.apiType}, API ${a.apiVersion})`,
      );
    }
    if (t.intervals) lines.push(`${pad('statistics')}${formatIntervals(t.intervals)}`);
    if (t.maxQueryMetrics) lines.push(`${pad('maxQueryMetrics')}${formatMaxQueryMetrics(t.maxQueryMetrics)}`);
    if (t.counters) {
      const bad = t.counters.problems.length;
      lines.push(
        `${pad('counters')}${t.counters.checked} configured, ` +
          (bad === 0 ? 'all in the catalogue' : `${bad} unusable`),
      );
    }
    if (t.privileges) {
      const { checked, missing } = t.privileges;
      lines.push(
        `${pad('privileges')}` +
          (missing.length === 0
            ? `${checked.join(', ')} granted on the root folder`
            : `missing ${missing.join(', ')} on the root folder`),
      );
    }
    if (t.objects) lines.push(`${pad('objects')}${countsText(t.objects)}`);
    for (const p of t.problems) lines.push(`  problem: ${p}`);
    for (const w of t.warnings) lines.push(`  warning: ${w}`);
    if (t.loggedOut !== undefined) lines.push(`  ${t.loggedOut ? 'logged out' : 'logout failed'}`);
  }
  const failed = report.targets.filter((t) => t.problems.length > 0).map((t) => t.target);
  const n = report.targets.length;
  lines.push(
    failed.length === 0
      ? `${n === 1 ? 'the target is' : `all ${n} targets are`} OK`
      : `${failed.length} of ${n} target${n === 1 ? '' : 's'} failed: ${failed.join(', ')}`,
  );
  return `${lines.map(visible).join('\n')}\n`;
}

/** Machine-readable report (`--format=json`): the reports as they are, plus ok per target. */
export function formatJson(report: CheckReport): string {
  const targets = report.targets.map((t) => ({ ok: t.problems.length === 0, ...t }));
  return `${JSON.stringify({ ok: exitCode(report) === 0, targets }, null, 2)}\n`;
}

/** The problem line for an unusable counter, naming the counter and the config that asks for it. */
export function counterProblemText(p: CounterProblem): string {
  return `counter ${p.counter} (${p.sources.join(', ')}): ${p.reason}`;
}
