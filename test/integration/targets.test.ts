import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';
import { makeTestPki, type TestPki } from '../harness/tls-fixtures.js';

// Only the vm and host collectors: the other kinds add nothing to what is tested here.
const COLLECTORS = {
  cluster: false,
  datastore: false,
  resource_pool: false,
  datacenter: false,
  alarm: false,
};

describe('named targets: /probe?target=, isolation, TLS to vCenter', () => {
  let fast: Vcsim;
  let slow: Vcsim;
  let tls: Vcsim;
  let pki: TestPki;
  let exporter: ExporterProcess;
  let dir: string;
  let trap: Server;
  let trapPort = 0;
  let trapConnections = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-targets-'));
    pki = makeTestPki();
    trap = createServer((s) => {
      trapConnections++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapPort = (trap.address() as { port: number }).port;
    [fast, slow, tls] = await Promise.all([
      startVcsim(),
      startVcsim({ args: ['-method-delay', 'WaitForUpdatesEx:30000'] }),
      startVcsim({ args: ['-tls-cert', pki.serverCert, '-tls-key', pki.serverKey] }),
    ]);
    const pw = join(dir, 'password');
    writeFileSync(pw, fast.password, { mode: 0o600 });
    // Readable by everyone: the exporter must say so (and still run).
    const loosePw = join(dir, 'password-0644');
    writeFileSync(loosePw, fast.password, { mode: 0o644 });
    const t = (name: string, vc: Vcsim, extra: Record<string, unknown> = {}) => ({
      name,
      url: vc.url,
      user: vc.user,
      password_file: pw,
      ...extra,
    });
    const cfg = join(dir, 'config.yml');
    writeFileSync(
      cfg,
      stringify({
        collectors: COLLECTORS,
        targets: [
          t('fast', fast),
          t('slow', slow),
          t('tls-unknown-ca', tls),
          t('tls-ca', tls, { ca_file: pki.caCert }),
          t('tls-wrong-name', tls, { ca_file: pki.caCert, server_name: 'vcenter.wrong.example' }),
          t('tls-insecure', tls, { insecure_skip_verify: true, password_file: loosePw }),
        ],
      }),
    );
    exporter = await startExporter({ args: ['--config.file', cfg] });
  });
  after(async () => {
    await exporter?.stop();
    await Promise.all([fast?.stop(), slow?.stop(), tls?.stop()]);
    await new Promise((r) => trap?.close(r));
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const probe = async (target: string, timeout = '10') => {
    const t0 = performance.now();
    const res = await exporter.scrape(`/probe?target=${encodeURIComponent(target)}`, {
      'X-Prometheus-Scrape-Timeout-Seconds': timeout,
    });
    return { ...res, ms: performance.now() - t0, samples: parsePrometheusText(res.text).samples };
  };

  test('a host, a URL or an unknown name is a 400 before any connection', async () => {
    const refused = [
      `127.0.0.1:${trapPort}`,
      `http://127.0.0.1:${trapPort}/sdk`,
      `https://127.0.0.1:${trapPort}/sdk`,
      `localhost:${trapPort}`,
      'no-such-target',
      'FAST',
      '',
    ];
    for (const target of refused) {
      const res = await exporter.scrape(`/probe?target=${encodeURIComponent(target)}`);
      assert.equal(res.status, 400, target);
      assert.ok(!res.text.includes(String(trapPort)), 'the input is not echoed');
    }
    for (const path of ['/probe', '/probe?target=fast&target=slow', `/probe?module=${trapPort}`]) {
      assert.equal((await exporter.scrape(path)).status, 400, path);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(trapConnections, 0, 'nothing connected to the address named in the request');
  });

  test("/probe answers one target's families without process metrics; /metrics without a default has no vCenter data", async () => {
    const p = await probe('fast');
    assert.equal(p.status, 200);
    assert.equal(find(p.samples, 'vsphere_up')[0]?.value, 1);
    assert.deepEqual(
      find(p.samples, 'vsphere_vm_info')
        .map((s) => s.labels.vm)
        .sort(),
      fast.inventory.vms.map((v) => v.name).sort(),
    );
    assert.ok(!p.samples.some((s) => s.name.startsWith('process_') || s.name.startsWith('nodejs_')));
    const m = parsePrometheusText((await exporter.scrape('/metrics')).text).samples;
    assert.ok(find(m, 'process_open_fds').length === 1);
    assert.ok(!m.some((s) => s.name.startsWith('vsphere_vm_') || s.name === 'vsphere_up'));
  });

  test('a target whose vCenter hangs does not delay another target', async () => {
    const stuck = probe('slow', '5');
    const quick: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await probe('fast');
      assert.equal(find(p.samples, 'vsphere_up')[0]?.value, 1);
      quick.push(p.ms);
    }
    const s = await stuck;
    assert.equal(find(s.samples, 'vsphere_up')[0]?.value, 0, 'the slow target hits its deadline');
    assert.ok(s.ms >= 4000 && s.ms < 6000, `slow probe answered in ${s.ms.toFixed(0)} ms`);
    // Five full probes of the fast target completed while the slow one was stuck.
    assert.ok(Math.max(...quick) < 2000, `fast probes took ${quick.map((q) => q.toFixed(0)).join(', ')} ms`);
  });

  test('TLS to vCenter: unknown CA and wrong name fail with the reason; ca_file makes it verified', async () => {
    const errorOf = (samples: ReturnType<typeof parsePrometheusText>['samples']) =>
      find(samples, 'vsphere_last_error_info')[0]?.labels ?? {};
    const unknown = await probe('tls-unknown-ca');
    assert.equal(find(unknown.samples, 'vsphere_up')[0]?.value, 0);
    assert.equal(errorOf(unknown.samples).code, 'VSPHERE_TLS');
    assert.match(
      errorOf(unknown.samples).message ?? '',
      /does not trust; vCenter presented CN=server, issued by CN=ca; no ca_file is set/,
    );
    const ok = await probe('tls-ca');
    assert.equal(find(ok.samples, 'vsphere_up')[0]?.value, 1);
    assert.equal(find(ok.samples, 'vsphere_target_tls_verify')[0]?.value, 1);
    const wrong = await probe('tls-wrong-name');
    assert.equal(find(wrong.samples, 'vsphere_up')[0]?.value, 0);
    assert.equal(errorOf(wrong.samples).code, 'VSPHERE_TLS');
    assert.match(errorOf(wrong.samples).message ?? '', /does not name this host/);
    assert.equal(find((await probe('fast')).samples, 'vsphere_target_tls_verify')[0]?.value, 0, 'http://');
    const insecure = await probe('tls-insecure');
    assert.equal(find(insecure.samples, 'vsphere_up')[0]?.value, 1, 'connects without verification');
    assert.equal(find(insecure.samples, 'vsphere_target_tls_verify')[0]?.value, 0, 'and says so');
    const warned = (msg: RegExp) =>
      exporter.logs.some((l) => l.target === 'tls-insecure' && l.level === 'warn' && msg.test(String(l.msg)));
    assert.ok(
      warned(/TLS certificate verification of vCenter is DISABLED/),
      'insecure_skip_verify is logged as a warning',
    );
    assert.ok(
      warned(/password file is readable by group or others/),
      'a 0644 password file is logged as a warning',
    );
  });
});
