import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatDuration,
  statusPage,
  type StatusView,
  type TargetStatus,
} from '../../../src/server/status-page.js';
import type { CollectionSummary } from '../../../src/scrape/collection-summary.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

const target = (over: Partial<TargetStatus> = {}): TargetStatus => ({
  name: 'vc1',
  endpoint: 'https://vc1.example:443',
  tlsVerify: true,
  collection: 'on-scrape',
  last: undefined,
  session: { loggedIn: false, logins: 0, relogins: 0, loginFailures: 0 },
  ...over,
});

const view = (targets: TargetStatus[], over: Partial<StatusView> = {}): StatusView => ({
  version: '1.2.3',
  uptimeSeconds: 3725,
  telemetryPath: '/metrics',
  targets,
  now: NOW,
  ...over,
});

const upSummary: CollectionSummary = {
  up: true,
  durationSeconds: 0.4567,
  finishedAt: NOW - 42_000,
  samples: 1234,
  collectors: [
    { name: 'vm', ok: true, seconds: 0.25 },
    { name: 'host', ok: false, seconds: 0.125 },
  ],
};

/** The card of one target, from its opening <section> to its closing tag. */
function card(html: string, state: string): string {
  const m = new RegExp(`<section class="card"[^>]*data-state="${state}">[\\s\\S]*?</section>`).exec(html);
  assert.ok(m, `a card in state ${state}`);
  return m[0];
}

describe('status page', () => {
  test('escapes hostile target names, error messages and paths everywhere', () => {
    const evil = `<script>alert("x")</script>&'`;
    const html = statusPage(
      view(
        [
          target({
            name: evil,
            endpoint: 'https://<b>vc</b>:443',
            last: {
              ...upSummary,
              up: false,
              error: { code: 'E<1>', message: `refused "<img src=x onerror=alert(1)>" & more` },
              collectors: [{ name: '<c>', ok: false }],
            },
            vcenter: { product: '<i>VC</i>', version: '8&0', build: '"1"', apiVersion: "'8'" },
          }),
        ],
        { version: '<v>', telemetryPath: '/m"x<y>', defaultTarget: evil },
      ),
    );
    for (const raw of [
      '<script>',
      '<img',
      '<b>vc',
      '<i>VC',
      '<c>',
      '<v>',
      'E<1>',
      '/m"x',
      'onerror=alert(1)>',
    ]) {
      assert.ok(!html.includes(raw), `raw ${raw} must not appear`);
    }
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&apos;'));
    assert.ok(html.includes(`data-target="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&apos;"`));
    // The probe link is URL-encoded, then attribute-escaped.
    assert.ok(html.includes(`href="/probe?target=${encodeURIComponent(evil).replace(/'/g, '&apos;')}"`));
    assert.ok(html.includes('href="/m&quot;x&lt;y&gt;"'));
    assert.ok(
      html.includes(
        '<code>E&lt;1&gt;</code> refused &quot;&lt;img src=x onerror=alert(1)&gt;&quot; &amp; more',
      ),
    );
    assert.ok(
      html.includes(
        '<tr data-collector="&lt;c&gt;"><td>&lt;c&gt;</td><td class="error">not run</td><td class="num">—</td></tr>',
      ),
    );
  });

  test('a never-collected target says so and has no collector table', () => {
    const html = statusPage(view([target()]));
    const c = card(html, 'never');
    assert.match(c, /<span class="badge never">not collected yet<\/span>/);
    assert.match(c, /<dt>Last collection<\/dt><dd>not collected yet<\/dd>/);
    assert.match(c, /<dt>Product<\/dt><dd>unknown \(not connected yet\)<\/dd>/);
    assert.match(c, /not logged in · 0 logins · 0 re-logins · 0 login failures/);
    assert.ok(!c.includes('<table'));
    assert.ok(!c.includes('Samples'));
  });

  test('an up target shows time, duration, samples, session, vCenter and each collector', () => {
    const html = statusPage(
      view(
        [
          target({
            last: upSummary,
            tlsVerify: false,
            collection: 'background',
            session: { loggedIn: true, logins: 2, relogins: 1, loginFailures: 3 },
            vcenter: {
              product: 'VMware vCenter Server 8.0.2 build-123',
              version: '8.0.2',
              build: '123',
              apiVersion: '8.0.2.0',
            },
          }),
        ],
        { defaultTarget: 'vc1' },
      ),
    );
    const c = card(html, 'up');
    assert.match(c, /data-target="vc1"/);
    assert.match(c, /<span class="badge up">up<\/span>/);
    assert.match(c, /<dt>vCenter<\/dt><dd>https:\/\/vc1.example:443<\/dd>/);
    assert.match(c, /<dt>TLS verify<\/dt><dd>off<\/dd>/);
    assert.match(c, /VMware vCenter Server 8.0.2 build-123 · API 8.0.2.0</);
    assert.match(c, /logged in · 2 logins · 1 re-logins · 3 login failures/);
    assert.match(c, /<dt>Collection<\/dt><dd>in the background<\/dd>/);
    assert.match(c, /<time datetime="2026-11-27T11:59:18.000Z">2026-11-27 11:59:18 UTC<\/time> \(42 s ago\)/);
    assert.match(c, /<dt>Duration<\/dt><dd>0.457 s<\/dd>/);
    assert.match(c, /<dt>Samples<\/dt><dd>1234<\/dd>/);
    assert.match(
      c,
      /<tr data-collector="vm"><td>vm<\/td><td class="ok">ok<\/td><td class="num">0.250<\/td><\/tr>/,
    );
    assert.match(
      c,
      /<tr data-collector="host"><td>host<\/td><td class="error">failed<\/td><td class="num">0.125<\/td><\/tr>/,
    );
    assert.ok(!c.includes('<dt>Error</dt>'));
    assert.match(c, /href="\/probe\?target=vc1"/);
    assert.match(c, /also at <a href="\/metrics">/);
    assert.match(html, /Version 1.2.3 · up 1 h 2 min/);
    assert.match(html, /<a href="\/-\/healthy">/);
    assert.match(html, /<a href="\/-\/ready">/);
    assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  });

  test('a down target shows its error code and message and collectors as not run', () => {
    const html = statusPage(
      view([
        target({ name: 'ok', last: upSummary }),
        target({
          name: 'broken',
          last: {
            up: false,
            durationSeconds: 0.002,
            finishedAt: NOW - 3_600_000,
            samples: 30,
            error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' },
            collectors: [{ name: 'vm', ok: false }],
          },
          // ServiceContent read before the failure, with an empty fullName.
          vcenter: { product: '', version: '7.0<', build: '42', apiVersion: '7.0' },
        }),
      ]),
    );
    const c = card(html, 'down');
    assert.match(c, /data-target="broken"/);
    assert.match(c, /<span class="badge down">down<\/span>/);
    assert.match(c, /<dt>Result<\/dt><dd>down<\/dd>/);
    assert.match(c, /<code>ECONNREFUSED<\/code> connect ECONNREFUSED 127.0.0.1:1/);
    assert.match(c, /\(1 h 0 min ago\)/);
    assert.match(c, /<dt>Product<\/dt><dd>version 7.0&lt; build 42 · API 7.0<\/dd>/);
    assert.match(c, /<td class="error">not run<\/td><td class="num">—<\/td>/);
    assert.ok(!card(html, 'up').includes('ECONNREFUSED'), 'the error stays on its own card');
    assert.ok(!html.includes('also at'), 'no default target, no /metrics note');
  });

  test("the last collection's deadline and where it came from", () => {
    const html = statusPage(
      view([
        target({
          last: {
            ...upSummary,
            durationSeconds: 10.01,
            deadline: {
              seconds: 10,
              source: 'scrape.timeout_seconds; no X-Prometheus-Scrape-Timeout-Seconds header',
            },
          },
        }),
      ]),
    );
    assert.match(
      card(html, 'up'),
      /<dt>Deadline<\/dt><dd>10\.0 s \(scrape\.timeout_seconds; no X-Prometheus-Scrape-Timeout-Seconds header\)<\/dd>/,
    );
  });

  test('a background inventory read shows its progress; late answers are counted', () => {
    const loading = statusPage(
      view([
        target({
          loading: {
            code: 'VSPHERE_INVENTORY_LOADING',
            message: 'inventory loading: 12,000 of 50,000 objects after 20 s (first read of this session; …)',
          },
        }),
      ]),
    );
    assert.match(
      card(loading, 'never'),
      /<dt>Inventory<\/dt><dd><span class="error"><code>VSPHERE_INVENTORY_LOADING<\/code> inventory loading: 12,000 of 50,000 objects/,
    );
    const late = statusPage(view([target({ last: upSummary, staleAnswers: 3 })]));
    assert.match(
      card(late, 'up'),
      /<dt>Late answers<\/dt><dd>3 scrapes answered with the last complete collection/,
    );
    const none = statusPage(view([target({ last: upSummary, staleAnswers: 0 })]));
    assert.ok(!none.includes('Late answers') && !none.includes('<dt>Inventory'));
  });

  test('durations read at a glance', () => {
    assert.equal(formatDuration(0), '0 s');
    assert.equal(formatDuration(42.9), '42 s');
    assert.equal(formatDuration(61), '1 min 1 s');
    assert.equal(formatDuration(3725), '1 h 2 min');
    assert.equal(formatDuration(90_061), '1 d 1 h');
    assert.equal(formatDuration(86_400 * 3 + 5), '3 d 0 h');
  });
});
