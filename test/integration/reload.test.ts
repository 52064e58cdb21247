import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';
import { userSessions } from '../harness/env.js';

const COLLECTORS = {
  cluster: false,
  datastore: false,
  resource_pool: false,
  datacenter: false,
  alarm: false,
};

describe('config reload: SIGHUP and POST /-/reload (--web.enable-lifecycle)', () => {
  let a: Vcsim;
  let b: Vcsim;
  let exporter: ExporterProcess;
  let dir: string;
  let cfg: string;
  let pw: string;

  const target = (name: string, vc: Vcsim) => ({ name, url: vc.url, user: vc.user, password_file: pw });
  const writeConfig = (targets: unknown[]) =>
    writeFileSync(cfg, stringify({ collectors: COLLECTORS, targets }));
  const post = (path: string) => fetch(`${exporter.baseUrl}${path}`, { method: 'POST' });
  const up = async (name: string) => {
    const res = await exporter.scrape(`/probe?target=${name}`);
    if (res.status !== 200) return res.status;
    return find(parsePrometheusText(res.text).samples, 'vsphere_up')[0]?.value;
  };
  const reloadGauge = async () =>
    find(
      parsePrometheusText((await exporter.scrape('/metrics')).text).samples,
      'vsphere_exporter_config_last_reload_successful',
    )[0]?.value;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-reload-'));
    [a, b] = await Promise.all([startVcsim(), startVcsim()]);
    pw = join(dir, 'password');
    writeFileSync(pw, a.password, { mode: 0o600 });
    cfg = join(dir, 'config.yml');
    writeConfig([target('a', a)]);
    exporter = await startExporter({ args: ['--config.file', cfg, '--web.enable-lifecycle'] });
  });
  after(async () => {
    await exporter?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('SIGHUP adds a target; the unchanged one keeps its vCenter session', async () => {
    assert.equal(await up('a'), 1);
    const before = (await userSessions(a)).map((s) => s.key);
    assert.equal(before.length, 1);
    assert.equal(await up('b'), 400, 'b is not configured yet');
    writeConfig([target('a', a), target('b', b)]);
    exporter.signal('SIGHUP');
    let status: number | undefined;
    for (let i = 0; i < 50 && status !== 1; i++) {
      await sleep(100);
      status = await up('b');
    }
    assert.equal(status, 1, 'b is scraped after the reload');
    assert.equal(await up('a'), 1);
    assert.deepEqual(
      (await userSessions(a)).map((s) => s.key),
      before,
      'same session, no new login',
    );
    assert.equal(await reloadGauge(), 1);
  });

  test('POST /-/reload removes a target and logs its session out', async () => {
    writeConfig([target('b', b)]);
    const res = await post('/-/reload');
    assert.equal(res.status, 200, await res.text());
    assert.equal(await up('a'), 400);
    assert.deepEqual(await userSessions(a), [], "a's session was logged out");
    assert.equal(await up('b'), 1);
  });

  test('a bad new config is rejected: the running one stays and the gauge says so', async () => {
    writeFileSync(cfg, 'targets:\n  - name: b\n    url: not a url\n');
    const res = await post('/-/reload');
    assert.equal(res.status, 500);
    assert.equal(await up('b'), 1, 'b still served');
    assert.equal(await reloadGauge(), 0);
    assert.ok(exporter.logs.some((l) => l.msg === 'config reload failed; keeping the running config'));
    writeConfig([target('b', b)]);
    assert.equal((await post('/-/reload')).status, 200);
    assert.equal(await reloadGauge(), 1);
    assert.equal((await fetch(`${exporter.baseUrl}/-/reload`)).status, 405, 'GET is not a reload');
  });

  test('without --web.enable-lifecycle POST /-/reload is refused', async () => {
    const other = await startExporter({ args: ['--config.file', cfg] });
    try {
      const res = await fetch(`${other.baseUrl}/-/reload`, { method: 'POST' });
      assert.equal(res.status, 403);
    } finally {
      await other.stop();
    }
  });
});
