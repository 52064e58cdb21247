import { MetricFamily } from '../exposition/index.js';
import type { SessionStats } from '../vsphere/session.js';

/** Counts SOAP calls by method and outcome (fed by the transport's onCall hook). */
export class SoapStats {
  private readonly calls = new Map<string, { method: string; outcome: string; count: number }>();
  private readonly seconds = new Map<string, number>();

  /** Records one finished call. */
  record(method: string, outcome: string, seconds: number): void {
    // Kept for every later scrape: anything but a string here would fail each of them for good.
    if (typeof method !== 'string') method = String(method);
    if (typeof outcome !== 'string') outcome = 'UNKNOWN';
    if (!Number.isFinite(seconds)) seconds = 0;
    const key = `${method}\u0000${outcome}`;
    const c = this.calls.get(key);
    if (c) c.count++;
    else this.calls.set(key, { method, outcome, count: 1 });
    this.seconds.set(method, (this.seconds.get(method) ?? 0) + seconds);
  }

  /** Counter families for the exposition. */
  families(): MetricFamily[] {
    const req = new MetricFamily(
      'vsphere_soap_requests_total',
      'SOAP calls to vCenter by method and outcome ("success" or an error code).',
      'counter',
      ['method', 'outcome'],
    );
    for (const c of this.calls.values()) req.add([c.method, c.outcome], c.count);
    const dur = new MetricFamily(
      'vsphere_soap_request_duration_seconds_total',
      'Time spent in SOAP calls to vCenter by method.',
      'counter',
      ['method'],
    );
    for (const [method, s] of this.seconds) dur.add([method], s);
    return [req, dur];
  }
}

/** Session families: logins, failures, re-logins and whether a session is held. */
export function sessionFamilies(stats: SessionStats, active: boolean): MetricFamily[] {
  const f = (name: string, help: string, v: number, type: 'counter' | 'gauge' = 'counter'): MetricFamily => {
    const m = new MetricFamily(name, help, type, []);
    m.add([], v);
    return m;
  };
  return [
    f('vsphere_session_logins_total', 'Successful Login calls to vCenter.', stats.logins),
    f(
      'vsphere_session_login_failures_total',
      'Failed login attempts (vCenter unreachable or credentials refused).',
      stats.loginFailures,
    ),
    f(
      'vsphere_session_relogins_total',
      'Logins made because vCenter ended the previous session (expiry, restart, TerminateSession).',
      stats.relogins,
    ),
    f('vsphere_session_active', '1 while the exporter holds a vCenter session.', active ? 1 : 0, 'gauge'),
  ];
}
