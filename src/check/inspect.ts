import { pino } from 'pino';
import { passwordSource } from '../config/password-source.js';
import type { CollectorOptions, TargetConfig } from '../config/schema.js';
import { PerfManager } from '../vsphere/perf-manager.js';
import { loginProblem } from '../vsphere/login-problem.js';
import { connectVim } from '../vsphere/connect.js';
import { counterProblems, wantedCounters } from './counters.js';
import { countFiltered, filterProblems } from './filter-counts.js';
import { counterProblemText, type TargetReport } from './report.js';
import {
  missingPrivileges,
  readIntervals,
  readMaxQueryMetricsOption,
  REQUIRED_PRIVILEGES,
} from './vcenter-reads.js';

/** Why a login failed (shared with the exporter's startup log). */
export { loginProblem } from '../vsphere/login-problem.js';

// Generous: a check is run by hand, and every single call still has its own request timeout.
const MIN_TARGET_BUDGET_MS = 30_000;
// Session.close() reports the outcome of its Logout only through the logger.
const LOGGED_OUT = 'logged out of vCenter';

/** Logs in to one target, reads what `check` reports, and logs out; never throws. */
export async function inspectTarget(
  t: TargetConfig,
  options: CollectorOptions,
  ca: string | undefined,
): Promise<TargetReport> {
  const v = t.vsphere;
  const report: TargetReport = { target: t.name, url: v.url.href, user: v.user, problems: [], warnings: [] };
  if (v.insecureSkipVerify) {
    report.warnings.push('TLS certificate verification is disabled (insecure_skip_verify)');
  }
  const messages: string[] = [];
  const logger = pino(
    { level: 'info', base: null },
    {
      write: (line: string) => {
        const msg = (JSON.parse(line) as { msg?: unknown }).msg;
        if (typeof msg === 'string') messages.push(msg);
      },
    },
  );
  const { transport, session, client } = connectVim(v, passwordSource(v), ca, logger, {
    maxConnections: 1,
  });
  const signal = AbortSignal.timeout(Math.max(MIN_TARGET_BUDGET_MS, 3 * v.requestTimeoutMs));
  try {
    let content;
    try {
      content = await session.ensure(signal);
    } catch (e) {
      report.problems.push(loginProblem(e, v.user, v.url));
      return report;
    }
    const a = content.about;
    report.about = {
      fullName: a.fullName,
      name: a.name,
      version: a.version,
      build: a.build,
      apiType: a.apiType,
      apiVersion: a.apiVersion,
    };
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        report.problems.push(`cannot read ${what}: ${message(e)}`);
      }
    };
    const perf = new PerfManager(client, { maxQueryMetrics: v.maxQueryMetrics, concurrency: 1 });
    await step('PerformanceManager.historicalInterval', async () => {
      if (!content.perfManager) throw new Error('the server has no PerformanceManager');
      const intervals = await readIntervals(client, content.perfManager, signal);
      report.intervals = intervals;
      const fiveMinutes = intervals.find((i) => i.samplingPeriodSeconds === 300);
      if (options.historical && intervals.length > 0 && !fiveMinutes?.enabled) {
        report.warnings.push(
          'historical.enabled is set but the 5-minute statistics interval is disabled: historical counters will have no data',
        );
      }
    });
    await step('config.vpxd.stats.maxQueryMetrics', async () => {
      const vcenter = await readMaxQueryMetricsOption(client, content.setting, signal);
      report.maxQueryMetrics = {
        effective: await perf.maxQueryMetrics(signal),
        ...(vcenter !== undefined && { vcenter }),
        ...(v.maxQueryMetrics !== undefined && { configured: v.maxQueryMetrics }),
      };
    });
    await step('the performance counter catalogue', async () => {
      const wanted = wantedCounters(t, options);
      const catalogue = await perf.counters(signal);
      if (wanted.length > 0 && catalogue.size === 0) throw new Error('the server returned no counters');
      const problems = counterProblems(wanted, catalogue);
      report.counters = { checked: wanted.length, problems };
      report.problems.push(...problems.map(counterProblemText));
    });
    await step('the inventory', async () => {
      report.objects = await countFiltered(client, t.filters, signal);
      report.problems.push(...filterProblems(report.objects, t.filters));
    });
    try {
      const missing = await missingPrivileges(client, content, signal);
      report.privileges = { checked: REQUIRED_PRIVILEGES, missing };
      if (missing.length > 0) {
        report.problems.push(
          `user ${v.user} lacks ${missing.join(', ')} on the root folder (grant the ReadOnly role there, propagating)`,
        );
      }
    } catch (e) {
      // Not an answer about the user's rights: say it was not checked, but do not fail on it.
      report.warnings.push(`privileges not checked: ${message(e)}`);
    }
    return report;
  } finally {
    const wasLoggedIn = session.isLoggedIn;
    await session.close(Date.now() + 2000);
    await transport.close();
    if (wasLoggedIn) report.loggedOut = messages.includes(LOGGED_OUT);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
