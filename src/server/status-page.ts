import type { CollectionSummary } from '../scrape/collection-summary.js';
import { escapeXml as esc } from '../vsphere/soap/envelope.js';

/** What the status page shows of one target; read from what is already known, never collected for it. */
export interface TargetStatus {
  name: string;
  /** scheme://host:port — a URL's origin, which never carries a user or password. */
  endpoint: string;
  tlsVerify: boolean;
  collection: 'on-scrape' | 'background';
  /** Undefined until a collection has finished. */
  last: CollectionSummary | undefined;
  /** On-scrape mode: scrapes answered with the last complete collection because their own was late. */
  staleAnswers?: number;
  /** While a full inventory read runs in the background: its VSPHERE_INVENTORY_LOADING code and progress. */
  loading?: { code: string; message: string };
  session: { loggedIn: boolean; logins: number; relogins: number; loginFailures: number };
  /** vCenter's own `about`, known once ServiceContent has been read. */
  vcenter?: { product: string; version: string; build: string; apiVersion: string };
}

/** Everything the page at `/` renders. */
export interface StatusView {
  version: string;
  uptimeSeconds: number;
  telemetryPath: string;
  defaultTarget?: string;
  targets: readonly TargetStatus[];
  /** Date.now() of the request, for "… ago". */
  now: number;
}

/** Only inline styles may apply: nothing else is ever loaded by the page. */
export const STATUS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'";

const CSS = `
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.45;color:#1b1b1b;background:#fafafa}
h1{margin:.2rem 0;font-size:1.6rem}h2{margin:0;font-size:1.2rem;overflow-wrap:anywhere}
a{color:#0b57d0}nav a{margin-right:1rem;white-space:nowrap;display:inline-block}
.card{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:.8rem 1rem;margin:1rem 0}
.head{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between}
.badge{font-weight:600;font-size:.85rem;padding:.1rem .5rem;border-radius:1rem;white-space:nowrap}
.up{background:#d7f5dd;color:#0b5d1e}.down{background:#fbdcdc;color:#8a1010}.never{background:#e8e8e8;color:#444}
dl{display:grid;grid-template-columns:minmax(6rem,max-content) minmax(0,1fr);gap:.2rem 1rem;margin:.6rem 0}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere;min-width:0}
.error{color:#8a1010}code{overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;font-size:.9rem}
th,td{text-align:left;padding:.2rem .4rem;border-top:1px solid #eee;overflow-wrap:anywhere}
td.num,th.num{text-align:right}
.muted{color:#666;font-size:.9rem}
`;

/** The status page at `/`: every target's last collection, session and vCenter, plus the exporter's links. */
export function statusPage(view: StatusView): string {
  const metrics = esc(view.telemetryPath);
  const cards = view.targets.map((t) => targetCard(t, view)).join('\n');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>vsphere-exporter status</title>
<style>${CSS}</style></head>
<body>
<header>
<h1>vsphere-exporter</h1>
<p class="muted">Version ${esc(view.version)} · up ${esc(formatDuration(view.uptimeSeconds))}</p>
<nav><a href="${metrics}">Metrics (${metrics})</a><a href="/-/healthy">Health</a><a href="/-/ready">Readiness</a></nav>
</header>
<main>
${cards || '<p>No targets configured.</p>'}
</main>
</body>
</html>
`;
}

function targetCard(t: TargetStatus, view: StatusView): string {
  const state = t.last === undefined ? 'never' : t.last.up ? 'up' : 'down';
  const badge = { never: 'not collected yet', up: 'up', down: 'down' }[state];
  const probe = `/probe?target=${encodeURIComponent(t.name)}`;
  const also =
    t.name === view.defaultTarget
      ? ` · also at <a href="${esc(view.telemetryPath)}">${esc(view.telemetryPath)}</a>`
      : '';
  const vc = t.vcenter;
  const rows: [string, string][] = [
    ['vCenter', esc(t.endpoint)],
    ['TLS verify', t.tlsVerify ? 'on' : 'off'],
    [
      'Product',
      vc
        ? // fullName already reads "VMware vCenter Server 8.0.2 build-22385739"; some endpoints leave it empty.
          `${esc(vc.product || `version ${vc.version} build ${vc.build}`)} · API ${esc(vc.apiVersion)}`
        : 'unknown (not connected yet)',
    ],
    [
      'Session',
      `${t.session.loggedIn ? 'logged in' : 'not logged in'} · ${t.session.logins} logins · ${t.session.relogins} re-logins · ${t.session.loginFailures} login failures`,
    ],
    ['Collection', t.collection === 'background' ? 'in the background' : 'on each scrape'],
    ...lastRows(t.last, view.now),
  ];
  if (t.loading)
    rows.push([
      'Inventory',
      `<span class="error"><code>${esc(t.loading.code)}</code> ${esc(t.loading.message)}</span>`,
    ]);
  // A collection slower than its scrape: those scrapes were answered with the previous one.
  if (t.staleAnswers)
    rows.push([
      'Late answers',
      `${t.staleAnswers} scrapes answered with the last complete collection (their own was not done by their deadline)`,
    ]);
  return `<section class="card" data-target="${esc(t.name)}" data-state="${state}">
<div class="head"><h2>${esc(t.name)}</h2><span class="badge ${state}">${badge}</span></div>
<div class="muted"><a href="${esc(probe)}">${esc(probe)}</a>${also}</div>
<dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
${collectorTable(t.last)}
</section>`;
}

function lastRows(last: CollectionSummary | undefined, now: number): [string, string][] {
  if (!last) return [['Last collection', 'not collected yet']];
  const at = new Date(last.finishedAt).toISOString();
  const ago = formatDuration(Math.max(0, (now - last.finishedAt) / 1000));
  const rows: [string, string][] = [
    [
      'Last collection',
      `<time datetime="${at}">${at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time> (${esc(ago)} ago)`,
    ],
    ['Duration', `${last.durationSeconds.toFixed(3)} s`],
    ['Result', last.up ? 'up' : 'down'],
    ['Samples', String(last.samples)],
  ];
  // Right after the duration, which it bounds; where it came from answers "why was it cut?".
  if (last.deadline)
    rows.splice(2, 0, ['Deadline', `${last.deadline.seconds.toFixed(1)} s (${esc(last.deadline.source)})`]);
  if (last.error)
    rows.push([
      'Error',
      `<span class="error"><code>${esc(last.error.code)}</code> ${esc(last.error.message)}</span>`,
    ]);
  return rows;
}

function collectorTable(last: CollectionSummary | undefined): string {
  if (!last || last.collectors.length === 0) return '';
  const rows = last.collectors
    .map((c) => {
      const result = c.seconds === undefined ? 'not run' : c.ok ? 'ok' : 'failed';
      const secs = c.seconds === undefined ? '—' : c.seconds.toFixed(3);
      return `<tr data-collector="${esc(c.name)}"><td>${esc(c.name)}</td><td class="${c.ok ? 'ok' : 'error'}">${result}</td><td class="num">${secs}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>Collector</th><th>Result</th><th class="num">Seconds</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** "3 d 4 h", "5 h 12 min", "7 min 3 s", "42 s": the two largest units are enough to read at a glance. */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const units: [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${n} ${unit}`);
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(' ') : '0 s';
}
