import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { exporterEnv, metric } from '../harness/env.js';
import { runExporterOnce, startExporter, type ExporterProcess } from '../harness/exporter.js';
import { parsePrometheusText } from '../harness/prom-text.js';
import { promtoolCheckMetrics } from '../harness/promtool.js';
import {
  httpsGet,
  makeTestPki,
  opensslVersion,
  type HttpsGetOptions,
  type TestPki,
} from '../harness/tls-fixtures.js';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';

const COST = 10;

/** Writes `text` to `file` atomically, as config management tools do. */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

describe('--web.config.file: TLS, client certificates, basic auth, reload', () => {
  let vc: Vcsim;
  let pki: TestPki;
  let dir: string;
  let webFile: string;
  let exporter: ExporterProcess;
  let port: number;
  const hashes = {
    alice: bcrypt.hashSync('alice-pw', COST),
    carol: bcrypt.hashSync('carol-pw', COST),
  };

  const webConfig = (users: Record<string, string>): string =>
    [
      'tls_server_config:',
      `  cert_file: ${pki.serverCert}`,
      `  key_file: ${pki.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      '  client_ca_file: ca.crt',
      '  client_allowed_sans: [spiffe://test/prometheus]',
      'http_server_config:',
      '  headers:',
      '    X-Content-Type-Options: nosniff',
      'basic_auth_users:',
      ...Object.entries(users).map(([u, h]) => `  ${u}: '${h}'`),
      '',
    ].join('\n');

  const get = (path: string, o: HttpsGetOptions = {}) => httpsGet(pki, port, path, o);

  const refusedLogs = (reason: string) =>
    exporter.logs.filter((l) => l.msg === 'basic auth refused' && l.reason === reason);

  before(async () => {
    assert.match(opensslVersion(), /^OpenSSL \d/);
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'vsx-webcfg-'));
    webFile = join(pki.dir, 'web.yml');
    writeFileSync(webFile, webConfig({ alice: hashes.alice }));
    vc = await startVcsim();
    exporter = await startExporter({
      env: exporterEnv(vc, dir),
      args: [`--web.config.file=${webFile}`, '--log.level=debug'],
      waitReady: false,
    });
    port = Number(new URL(exporter.baseUrl).port);
    await eventually(
      'HTTPS /-/ready answers 200',
      async () => (await get('/-/ready', { auth: 'alice:alice-pw' })).status === 200,
    );
  });
  after(async () => {
    await exporter?.stop();
    await vc?.stop();
    pki?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('logs at start that TLS and basic auth are on, without any hash', () => {
    const line = exporter.logs.find((l) => l.msg === 'web config loaded');
    assert.ok(line, 'no "web config loaded" log line');
    assert.equal(line.tls, true);
    assert.equal(line.basicAuth, true);
    assert.equal(line.clientAuth, 'RequireAndVerifyClientCert');
    assert.ok(!JSON.stringify(exporter.logs).includes('$2'), 'a bcrypt hash appears in the logs');
  });

  test('an HTTPS scrape with the CA, the client certificate and the password works', async () => {
    const res = await get('/metrics', { auth: 'alice:alice-pw' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.serverSerial, new X509Certificate(pki.read(pki.serverCert)).serialNumber);
    assert.equal(metric(parsePrometheusText(res.text).samples, 'vsphere_up'), 1);
    await promtoolCheckMetrics(res.text);
  });

  test('plain HTTP to the TLS port gets no HTTP answer', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  });

  test('TLS 1.1 is refused by the server', async () => {
    // SECLEVEL=0 lets this client offer TLS 1.1 at all: the refusal must come from the server.
    await assert.rejects(
      get('/metrics', {
        auth: 'alice:alice-pw',
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
      /protocol version|unsupported protocol|wrong version/i,
    );
    assert.equal((await get('/-/healthy', { auth: 'alice:alice-pw', maxVersion: 'TLSv1.2' })).status, 200);
  });

  test('RequireAndVerifyClientCert: no certificate or one from another CA is refused', async () => {
    await assert.rejects(get('/metrics', { client: 'none', auth: 'alice:alice-pw' }));
    await assert.rejects(get('/metrics', { client: 'other', auth: 'alice:alice-pw' }));
    assert.equal((await get('/metrics', { auth: 'alice:alice-pw' })).status, 200);
  });

  test('basic auth: missing, wrong or unknown credentials get 401 with WWW-Authenticate; /-/healthy too', async () => {
    for (const [auth, path] of [
      [undefined, '/metrics'],
      ['alice:wrong', '/metrics'],
      ['mallory:alice-pw', '/metrics'],
      [undefined, '/-/healthy'],
      [undefined, '/nowhere'],
    ] as const) {
      const res = await get(path, auth === undefined ? {} : { auth });
      assert.equal(res.status, 401, `${auth ?? 'no credentials'} on ${path}`);
      assert.equal(res.headers['www-authenticate'], 'Basic');
      assert.equal(res.text, 'Unauthorized\n');
    }
    assert.equal((await get('/-/healthy', { auth: 'alice:alice-pw' })).status, 200);
  });

  test('an unknown user costs a bcrypt just like a wrong password', async () => {
    const wrongBefore = refusedLogs('wrong-password').length;
    const unknownBefore = refusedLogs('unknown-user').length;
    const times = { wrong: [] as number[], unknown: [] as number[] };
    for (let i = 0; i < 3; i++) {
      for (const [kind, auth] of [
        ['wrong', 'alice:nope'],
        ['unknown', 'nobody:nope'],
      ] as const) {
        const t0 = performance.now();
        assert.equal((await get('/metrics', { auth })).status, 401);
        times[kind].push(performance.now() - t0);
      }
    }
    // Deterministic: the exporter reports a bcrypt comparison for every one of these refusals.
    await eventually('debug log lines for the refusals', () =>
      Promise.resolve(
        refusedLogs('wrong-password').length === wrongBefore + 3 &&
          refusedLogs('unknown-user').length === unknownBefore + 3,
      ),
    );
    for (const l of [...refusedLogs('wrong-password'), ...refusedLogs('unknown-user')])
      assert.equal(l.bcrypt, true);
    // And on the clock: both kinds take at least half of one bcrypt at this cost, measured here.
    const local = Math.min(
      ...[0, 1, 2].map(() => {
        const t0 = performance.now();
        bcrypt.compareSync('x', hashes.alice);
        return performance.now() - t0;
      }),
    );
    assert.ok(
      Math.min(...times.wrong) >= local / 2,
      `wrong password ${times.wrong.join(',')} ms, bcrypt ${local} ms`,
    );
    assert.ok(
      Math.min(...times.unknown) >= local / 2,
      `unknown user ${times.unknown.join(',')} ms, bcrypt ${local} ms`,
    );
  });

  test('reload: a new user works without restart; a broken file keeps the old config and logs an error', async () => {
    assert.equal((await get('/metrics', { auth: 'carol:carol-pw' })).status, 401);
    replaceFile(webFile, webConfig({ alice: hashes.alice, carol: hashes.carol }));
    await eventually(
      'carol is let in',
      async () => (await get('/-/healthy', { auth: 'carol:carol-pw' })).status === 200,
    );
    assert.ok(exporter.logs.some((l) => l.msg === 'web config reloaded'));

    replaceFile(webFile, webConfig({ alice: hashes.alice, dave: 'plain-text-password' }));
    await eventually('the reload error is logged', () =>
      Promise.resolve(
        exporter.logs.some(
          (l) =>
            l.msg === 'web config reload failed; keeping the previous configuration' &&
            typeof l.error === 'string' &&
            l.error.includes('basic_auth_users.dave: not a bcrypt hash'),
        ),
      ),
    );
    assert.equal((await get('/metrics', { auth: 'carol:carol-pw' })).status, 200);
    assert.equal((await get('/metrics', { auth: 'alice:alice-pw' })).status, 200);
    assert.ok(!JSON.stringify(exporter.logs).includes('plain-text-password'), 'the broken value is logged');
  });

  test('reload: a replaced server certificate is served to new connections', async () => {
    const next = pki.issue('server-next', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
    const serial = new X509Certificate(readFileSync(next.cert)).serialNumber;
    // The previous test left a broken file in place: while it stays broken nothing is reloaded.
    replaceFile(webFile, webConfig({ alice: hashes.alice }));
    replaceFile(pki.serverKey, pki.read(next.key));
    replaceFile(pki.serverCert, pki.read(next.cert));
    await eventually(
      'the new certificate is presented',
      async () => (await get('/-/healthy', { auth: 'alice:alice-pw' })).serverSerial === serial,
    );
  });
});

describe('--web.config.file: refused at start', () => {
  const env = { VSPHERE_URL: 'http://127.0.0.1:1/sdk', VSPHERE_USER: 'u', VSPHERE_PASSWORD: 'p' };

  test('a contradictory or broken file exits 2 naming the key', async () => {
    const pki = makeTestPki();
    try {
      const cases: [string, RegExp][] = [
        [
          `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n`,
          /tls_server_config\.client_ca_file: set, but client_auth_type is NoClientCert/,
        ],
        [
          `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n`,
          /tls_server_config\.client_ca_file: required with client_auth_type RequireAndVerifyClientCert/,
        ],
        [`tls_server_config:\n  cert_file: server.crt\n`, /tls_server_config\.key_file: required/],
        [
          `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n`,
          /tls_server_config\.min_version: TLS13 is above max_version TLS12/,
        ],
        [
          `tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n`,
          /tls_server_config\.cert_file: cannot read .*nope\.crt: ENOENT/,
        ],
        [`basic_auth_users:\n  alice: hunter2\n`, /basic_auth_users\.alice: not a bcrypt hash/],
        [`basic_auth_users:\n  alice: x\nrate_limit: {}\n`, /rate_limit: unknown key/],
      ];
      for (const [i, [text, pattern]] of cases.entries()) {
        const file = join(pki.dir, `bad-${i}.yml`);
        writeFileSync(file, text);
        const r = await runExporterOnce([`--web.config.file=${file}`], env);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, pattern);
        assert.match(r.stderr, /^config error: --web\.config\.file /);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.doesNotMatch(r.stderr, /hunter2/, 'the value is echoed');
      }
      const missing = await runExporterOnce([`--web.config.file=${join(pki.dir, 'absent.yml')}`], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /absent\.yml: cannot read: ENOENT/);
    } finally {
      pki.remove();
    }
  });
});
