/**
 * A target that cannot log in says why at start, before any scrape: in the log (once per cause,
 * with the hint `check` gives) and in the 503 of /-/ready; the TLS reason names the ca_file tried
 * and the certificate vCenter presented.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';
import { makeTestPki, type TestPki } from '../harness/tls-fixtures.js';

// Wide: the first login of each target starts at once, and a busy machine may take a while.
const LOG_WAIT_MS = 20_000;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

type Line = Record<string, unknown>;

describe('startup: a failed first login is logged at once, with its cause and hint', () => {
  let vc: Vcsim;
  let pki: TestPki;
  let exporter: ExporterProcess;
  let dir: string;
  let closedPort = 0;
  let latePort = 0;
  const forwarders: Server[] = [];
  // Accepts connections and never says a word: the TLS handshake times out.
  let silent: Server;
  const sockets = new Set<Socket>();

  const lines = (target: string, msg: string): Line[] =>
    exporter.logs.filter((l) => l.target === target && l.msg === msg);
  const waitFor = async (target: string, msg: string, waitMs = LOG_WAIT_MS): Promise<Line> => {
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      const l = lines(target, msg)[0];
      if (l) return l;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(
      `no "${msg}" line for target ${target} within ${waitMs} ms:\n` +
        exporter.logs.map((l) => JSON.stringify(l)).join('\n'),
    );
  };
  const hintOf = (l: Line): string => String(l.hint);
  // vCenter comes up on `port`: a plain TCP forwarder to the simulator.
  const forward = async (port: number): Promise<void> => {
    const to = new URL(vc.url);
    const f = createServer((client) => {
      const upstream = connect(Number(to.port), to.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    forwarders.push(f);
    await new Promise<void>((r) => f.listen(port, '127.0.0.1', r));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-startup-'));
    pki = makeTestPki();
    vc = await startVcsim({ args: ['-tls-cert', pki.serverCert, '-tls-key', pki.serverKey] });
    closedPort = await freePort();
    latePort = await freePort();
    silent = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    const pw = join(dir, 'password');
    writeFileSync(pw, vc.password, { mode: 0o600 });
    const badPw = join(dir, 'bad-password');
    writeFileSync(badPw, 'not-the-password', { mode: 0o600 });
    const t = (name: string, url: string, extra: Record<string, unknown> = {}) => ({
      name,
      url,
      user: vc.user,
      password_file: pw,
      ...extra,
    });
    const cfg = join(dir, 'config.yml');
    writeFileSync(
      cfg,
      stringify({
        targets: [
          t('closed', `https://127.0.0.1:${closedPort}/sdk`, { ca_file: pki.caCert }),
          t('late', `https://127.0.0.1:${latePort}/sdk`, { ca_file: pki.caCert }),
          // RFC 2606: .invalid never resolves, so nothing leaves the machine.
          t('nxdomain', 'https://vcenter.invalid/sdk'),
          t('silent', `https://127.0.0.1:${silentPort}/sdk`, { connect_timeout_seconds: 1 }),
          t('tls-no-ca', vc.url),
          t('tls-wrong-ca', vc.url, { ca_file: pki.otherCaCert }),
          t('wrong-password', vc.url, { ca_file: pki.caCert, password_file: badPw }),
        ],
      }),
    );
    exporter = await startExporter({ args: ['--config.file', cfg], waitReady: false });
  });
  after(async () => {
    if (process.env.SHOW_LOGS) for (const l of exporter?.logs ?? []) console.log(JSON.stringify(l));
    await exporter?.stop();
    for (const s of sockets) s.destroy();
    for (const f of forwarders) await new Promise((r) => f.close(r));
    if (silent) await new Promise((r) => silent.close(r));
    await vc?.stop();
    pki?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a closed port: the cause and the hint are logged without any scrape', async () => {
    const l = await waitFor('closed', 'vCenter login failed');
    assert.equal(l.level, 'error');
    assert.equal(l.cause, 'VSPHERE_CONNECTION:ECONNREFUSED');
    assert.match(hintOf(l), new RegExp(`^cannot connect to 127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`));
    assert.match(hintOf(l), new RegExp(`nothing accepts connections on 127\\.0\\.0\\.1:${closedPort}`));
  });

  test('a host name that does not resolve: the cause and the hint are logged', async () => {
    const l = await waitFor('nxdomain', 'vCenter login failed');
    assert.match(String(l.cause), /^VSPHERE_CONNECTION:(ENOTFOUND|EAI_AGAIN)$/);
    assert.match(hintOf(l), /^cannot connect to vcenter\.invalid: /);
    assert.match(hintOf(l), /vcenter\.invalid (does not resolve|failed for now)/);
  });

  test('a server that never answers: the timeout and the hint are logged', async () => {
    const l = await waitFor('silent', 'vCenter login failed');
    assert.equal(l.cause, 'VSPHERE_TIMEOUT:UND_ERR_CONNECT_TIMEOUT');
    assert.match(hintOf(l), /^cannot connect to 127\.0\.0\.1:\d+: /);
    assert.match(hintOf(l), /no answer from 127\.0\.0\.1:\d+ within the connect timeout/);
  });

  test('TLS without ca_file and with the wrong one: the log names the file (or none) and the issuer', async () => {
    const none = await waitFor('tls-no-ca', 'vCenter login failed');
    assert.equal(none.cause, 'VSPHERE_TLS:UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.match(hintOf(none), /^TLS: .*does not trust/);
    assert.match(hintOf(none), /vCenter presented CN=server, issued by CN=ca/);
    assert.match(hintOf(none), /no ca_file is set/);
    const wrong = await waitFor('tls-wrong-ca', 'vCenter login failed');
    assert.equal(wrong.cause, 'VSPHERE_TLS:UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.match(hintOf(wrong), /vCenter presented CN=server, issued by CN=ca\b/);
    assert.ok(
      hintOf(wrong).includes(`ca_file ${pki.otherCaCert} (1 certificate: CN=other-ca) does not hold`),
    );
    assert.doesNotMatch(hintOf(wrong), /no ca_file is set/);
  });

  test('a wrong password is logged as before, and not twice', async () => {
    const l = await waitFor('wrong-password', 'vCenter rejected the login');
    assert.equal(l.level, 'error');
    assert.equal(lines('wrong-password', 'vCenter login failed').length, 0);
  });

  test('/-/ready stays 503 and says why, in the words of the log', async () => {
    const r = await exporter.scrape('/-/ready');
    assert.equal(r.status, 503);
    assert.match(r.text, /^Not ready: no vCenter login yet\n/);
    assert.match(r.text, /^target closed: cannot connect to 127\.0\.0\.1:\d+: /m);
    assert.match(r.text, /^target tls-wrong-ca: TLS: .*ca_file /m);
    assert.match(r.text, /^target wrong-password: login refused for user /m);
  });

  test('the metric names the file and the issuer, whole or cut at a word', async () => {
    const res = await exporter.scrape('/probe?target=tls-wrong-ca');
    const info = find(parsePrometheusText(res.text).samples, 'vsphere_last_error_info')[0]?.labels ?? {};
    assert.equal(info.code, 'VSPHERE_TLS');
    const msg = info.message ?? '';
    assert.ok(msg.includes(`ca_file ${pki.otherCaCert}`), msg);
    assert.match(msg, /issued by CN=ca\b/);
    assert.ok(!msg.endsWith('certifica'), msg);
    assert.match(msg, /\)$|…$/, 'whole, or cut with an ellipsis');
  });

  test('vCenter up after the start: the first login is retried without a scrape and /-/ready turns 200', async () => {
    await waitFor('late', 'vCenter login failed');
    assert.equal((await exporter.scrape('/-/ready')).status, 503);
    await forward(latePort);
    // The retry comes 15 s after the failure; the wait allows for a busy machine.
    const back = await waitFor('late', 'vCenter login works again', 45_000);
    assert.equal(back.previousCause, 'VSPHERE_CONNECTION:ECONNREFUSED');
    assert.equal((await exporter.scrape('/-/ready')).status, 200);
    assert.equal(
      lines('late', 'collection failed: vCenter unreachable or refusing').length,
      0,
      'no scrape was made',
    );
  });

  test('scrapes of the same failure log nothing more; a login that works again is logged once', async () => {
    for (let i = 0; i < 3; i++) await exporter.scrape('/probe?target=closed');
    assert.equal(lines('closed', 'vCenter login failed').length, 1, 'one line per cause, not one per scrape');
    // vCenter comes up on the closed port.
    await forward(closedPort);
    const res = await exporter.scrape('/probe?target=closed');
    assert.equal(find(parsePrometheusText(res.text).samples, 'vsphere_up')[0]?.value, 1);
    const back = await waitFor('closed', 'vCenter login works again');
    assert.equal(back.previousCause, 'VSPHERE_CONNECTION:ECONNREFUSED');
  });
});
