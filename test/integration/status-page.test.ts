import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';
import { repoRoot } from '../harness/procs.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(repoRoot, 'test-artifacts', 'status-page.png');

/** A loopback port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** The <dd> next to the <dt> named `label` in a target's card. */
const field = (card: Locator, label: string): Promise<string | null> =>
  card
    .locator('dt', { hasText: new RegExp(`^${label}$`) })
    .locator('xpath=following-sibling::dd[1]')
    .textContent();

describe('status page at / in chromium', { timeout: 180_000 }, () => {
  let vc: Vcsim;
  let exporter: ExporterProcess;
  let browser: Browser;
  let dir: string;
  let deadPort = 0;
  const probes = new Map<
    string,
    { samples: number; errorCode?: string; collectors: Map<string, number | undefined> }
  >();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-status-'));
    [vc, deadPort] = await Promise.all([
      startVcsim({ args: ['-dc', '1', '-cluster', '1', '-host', '2', '-vm', '2', '-ds', '2'] }),
      closedPort(),
    ]);
    const pw = join(dir, 'password');
    writeFileSync(pw, vc.password, { mode: 0o600 });
    const cfg = join(dir, 'config.yml');
    writeFileSync(
      cfg,
      stringify({
        default_target: 'healthy',
        targets: [
          { name: 'healthy', url: vc.url, user: vc.user, password_file: pw },
          { name: 'broken', url: `http://127.0.0.1:${deadPort}/sdk`, user: vc.user, password_file: pw },
        ],
      }),
    );
    exporter = await startExporter({ args: ['--config.file', cfg] });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    await exporter?.stop();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens `/` in a fresh context, recording console errors and every request that leaves the exporter. */
  async function open(viewport = { width: 1024, height: 768 }) {
    const context = await browser.newContext({ viewport });
    const page: Page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} at ${m.location().url}`);
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== exporter.baseUrl) foreign.push(r.url());
    });
    const response = await page.goto(`${exporter.baseUrl}/`, { waitUntil: 'load' });
    assert.ok(response, 'navigation answered');
    return { context, page, response, errors, foreign };
  }

  test('before any scrape both targets say "not collected yet" and viewing does not collect', async () => {
    for (let i = 0; i < 2; i++) {
      const { context, page, errors } = await open();
      for (const name of ['healthy', 'broken']) {
        const card = page.locator(`section[data-target="${name}"]`);
        assert.equal(await card.getAttribute('data-state'), 'never', name);
        assert.equal(await card.locator('.badge').textContent(), 'not collected yet');
        assert.equal(await field(card, 'Last collection'), 'not collected yet');
      }
      assert.deepEqual(errors, []);
      await context.close();
    }
  });

  test('after one probe each: up with its samples, down with its error code, links work, phone layout fits', async () => {
    for (const name of ['healthy', 'broken']) {
      const res = await exporter.scrape(`/probe?target=${name}`);
      assert.equal(res.status, 200);
      const samples = parsePrometheusText(res.text).samples;
      // The page counts the collection's samples; the answer adds its own age and stale-answer count.
      const perAnswer = ['vsphere_collection_age_seconds', 'vsphere_scrape_stale_answers_total'];
      probes.set(name, {
        samples: samples.filter((x) => !perAnswer.includes(x.name)).length,
        errorCode: find(samples, 'vsphere_last_error_info')[0]?.labels.code,
        collectors: new Map(
          find(samples, 'vsphere_collector_success').map((x) => [x.labels.collector ?? '', x.value]),
        ),
      });
    }
    assert.equal(probes.get('broken')?.errorCode !== undefined, true, 'the broken target reports an error');

    const { context, page, response, errors, foreign } = await open();
    assert.equal(response.status(), 200);
    assert.equal(
      response.headers()['content-security-policy'],
      "default-src 'none'; style-src 'unsafe-inline'",
    );
    assert.equal(await page.title(), 'vsphere-exporter status');

    const healthy = page.locator('section[data-target="healthy"]');
    assert.equal(await healthy.getAttribute('data-state'), 'up');
    assert.equal(await healthy.locator('.badge').textContent(), 'up');
    const samples = Number(await field(healthy, 'Samples'));
    assert.ok(samples > 0, `samples ${samples}`);
    assert.equal(samples, probes.get('healthy')?.samples, 'the sample count of the probe answered');
    assert.match((await field(healthy, 'Product')) ?? '', /VMware/);
    assert.match(
      (await field(healthy, 'Session')) ?? '',
      /^logged in · 1 logins · 0 re-logins · 0 login failures$/,
    );
    assert.equal(await field(healthy, 'vCenter'), new URL(vc.url).origin);
    assert.ok(!(await healthy.textContent())?.includes(vc.password), 'no password on the page');
    // One row per collector, its result that of vsphere_collector_success in the probe's answer.
    const rows = async (card: Locator) =>
      Promise.all(
        (await card.locator('tr[data-collector]').all()).map((r) => r.locator('td').allTextContents()),
      );
    const healthyRows = await rows(healthy);
    const truth = probes.get('healthy')!.collectors;
    assert.ok(truth.size >= 5, `${truth.size} collectors`);
    assert.deepEqual(
      healthyRows.map(([name, result]) => [name, result]),
      [...truth].map(([name, ok]) => [name, ok === 1 ? 'ok' : 'failed']),
    );
    for (const [name, , secs] of healthyRows) assert.ok(Number(secs) >= 0, `${name} seconds ${secs}`);

    const broken = page.locator('section[data-target="broken"]');
    assert.equal(await broken.getAttribute('data-state'), 'down');
    assert.equal(await field(broken, 'Result'), 'down');
    const code = probes.get('broken')!.errorCode!;
    assert.equal(await broken.locator('.error code').textContent(), code);
    assert.match((await field(broken, 'Error')) ?? '', new RegExp(`^${code} \\S`), 'code and message');
    assert.match(
      (await field(broken, 'Session')) ?? '',
      /^not logged in · 0 logins · 0 re-logins · [1-9]\d* login failures$/,
    );
    assert.equal(await field(broken, 'Product'), 'unknown (not connected yet)');
    assert.equal(await field(broken, 'vCenter'), `http://127.0.0.1:${deadPort}`);
    assert.equal(await field(broken, 'TLS verify'), 'off');
    assert.deepEqual(
      await rows(broken),
      [...truth.keys()].map((name) => [name, 'not run', '—']),
    );

    assert.equal(errors.length, 0, `console errors on the status page: ${errors.join('; ')}`);
    // Every link answers 200 (the probe of the broken target too: it reports vsphere_up 0).
    const anchors = page.locator('a');
    const hrefs = new Set<string>();
    for (let i = 0; i < (await anchors.count()); i++)
      hrefs.add((await anchors.nth(i).getAttribute('href')) ?? '');
    for (const want of [
      '/metrics',
      '/-/healthy',
      '/-/ready',
      '/probe?target=healthy',
      '/probe?target=broken',
    ])
      assert.ok(hrefs.has(want), `link ${want} in ${[...hrefs].join(' ')}`);
    for (const href of hrefs) {
      const r = await page.request.get(new URL(href, exporter.baseUrl).href);
      assert.equal(r.status(), 200, `${href}`);
    }
    // And the nav link navigates, in the browser, to the default target's metrics.
    const [nav] = await Promise.all([
      page.waitForNavigation(),
      page.locator('nav a', { hasText: 'Metrics' }).click(),
    ]);
    assert.equal(nav?.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/metrics');
    assert.match((await page.locator('body').textContent()) ?? '', /^vsphere_up 1$/m);
    // The plain-text /metrics document makes chromium ask for /favicon.ico, which the exporter does
    // not serve (the status page's CSP blocks that request there); nothing else may have failed.
    assert.deepEqual(
      errors.filter((e) => !e.endsWith(`at ${exporter.baseUrl}/favicon.ico`)),
      [],
      'no console errors',
    );
    assert.deepEqual(foreign, [], 'no request to another origin');
    await context.close();

    const phone = await open({ width: 375, height: 667 });
    const width = await phone.page.evaluate('document.scrollingElement.scrollWidth');
    assert.ok(typeof width === 'number' && width <= 375, `scrollWidth ${String(width)} at 375 px`);
    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    await phone.page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(statSync(SCREENSHOT).size > 1000, 'a screenshot was written');
    assert.deepEqual(phone.errors, []);
    assert.deepEqual(phone.foreign, []);
    await phone.context.close();
  });
});
