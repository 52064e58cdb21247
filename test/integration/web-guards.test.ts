/**
 * The web config's guards under pressure: a flood of wrong passwords must not queue bcrypt work
 * without bound, a TCP connection that never starts its TLS handshake is cut, and a reload that
 * would turn basic auth off is refused.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { exporterEnv } from '../harness/env.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { httpsGet, makeTestPki, type TestPki } from '../harness/tls-fixtures.js';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';

const COST = 10;
const FLOOD = 300;

interface Answer {
  status: number;
  retryAfter: string | undefined;
  ms: number;
}

/** GET `path` on a new connection, with `auth` ("user:password") as basic auth if given; timed. */
function get(port: number, path: string, auth?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      timeout: 120_000,
      ...(auth !== undefined && { auth }),
    });
    req.once('timeout', () => req.destroy(new Error('no answer within 120 s')));
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          ms: performance.now() - t0,
        }),
      );
    });
    req.end();
  });
}

async function eventually(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(100);
  }
  assert.fail(`not within ${ms} ms: ${what}`);
}

describe('basic auth over plain HTTP: a wrong-password flood, a reload that drops the users', () => {
  let vc: Vcsim;
  let dir: string;
  let webFile: string;
  let exporter: ExporterProcess;
  let port: number;
  const users = {
    alice: bcrypt.hashSync('alice-pw', COST),
    carol: bcrypt.hashSync('carol-pw', COST),
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-guards-'));
    webFile = join(dir, 'web.yml');
    writeFileSync(
      webFile,
      `basic_auth_users:\n${Object.entries(users)
        .map(([u, h]) => `  ${u}: '${h}'\n`)
        .join('')}`,
    );
    vc = await startVcsim();
    exporter = await startExporter({
      env: exporterEnv(vc, dir),
      args: [`--web.config.file=${webFile}`],
      waitReady: false,
    });
    port = Number(new URL(exporter.baseUrl).port);
  });
  after(async () => {
    await exporter?.stop();
    await vc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(`${FLOOD} wrong passwords at once: the excess gets 503 without bcrypt; a login and a request without credentials are answered promptly`, async (t) => {
    // Baselines measured here: one bcrypt at this cost, a first (uncached) login, a request without credentials.
    const bcryptMs = Math.min(
      ...[0, 1, 2].map(() => {
        const t0 = performance.now();
        bcrypt.compareSync('x', users.alice);
        return performance.now() - t0;
      }),
    );
    const baseLogin = await get(port, '/-/healthy', 'carol:carol-pw');
    assert.equal(baseLogin.status, 200);
    const baseNone = await get(port, '/-/healthy');
    assert.equal(baseNone.status, 401);

    const flood = Promise.all(
      Array.from({ length: FLOOD }, (_, i) => get(port, '/metrics', `alice:wrong-${i}`)),
    );
    // Let the flood reach the exporter, then ask while it is being answered.
    await sleep(300);
    const [none, login] = await Promise.all([
      get(port, '/-/healthy'),
      get(port, '/-/healthy', 'alice:alice-pw'),
    ]);
    const answers = await flood;
    // Once the flood is answered, the login goes through (a "busy" answer above is allowed).
    const loginAfter = await get(port, '/-/healthy', 'alice:alice-pw');

    // The flood would queue FLOOD bcrypts; a bounded queue answers within a few of them.
    const prompt = 2000 + 20 * bcryptMs;
    assert.equal(none.status, 401);
    // It needs no bcrypt, and the comparisons of the flood must not hold up the event loop.
    assert.ok(none.ms < 2000 + 5 * bcryptMs + baseNone.ms, `without credentials: ${none.ms.toFixed(0)} ms`);
    assert.ok([200, 503].includes(login.status), `login during the flood: ${login.status}`);
    assert.ok(login.ms < prompt + baseLogin.ms, `login during the flood: ${login.ms.toFixed(0)} ms`);
    assert.equal(loginAfter.status, 200);
    const busy = answers.filter((a) => a.status === 503);
    const refused = answers.filter((a) => a.status === 401);
    assert.equal(busy.length + refused.length, FLOOD);
    assert.ok(busy.length >= FLOOD / 2, `${busy.length} of ${FLOOD} answered 503 (busy)`);
    for (const b of busy) assert.equal(b.retryAfter, '1');
    const slowest = Math.max(...answers.map((a) => a.ms));
    assert.ok(slowest < prompt * 2, `the flood's slowest answer took ${slowest.toFixed(0)} ms`);
    t.diagnostic(
      `bcrypt ${bcryptMs.toFixed(0)} ms; baseline login ${baseLogin.ms.toFixed(0)} ms, no credentials ` +
        `${baseNone.ms.toFixed(0)} ms; flood: ${refused.length} × 401, ${busy.length} × 503, slowest ` +
        `${slowest.toFixed(0)} ms; during it: no credentials ${none.ms.toFixed(0)} ms, login ${login.status} ` +
        `in ${login.ms.toFixed(0)} ms; login after it ${loginAfter.status} in ${loginAfter.ms.toFixed(0)} ms`,
    );
  });

  test('emptying the web config file at runtime keeps basic auth on and logs an error', async () => {
    assert.equal((await get(port, '/-/healthy')).status, 401);
    const seen = exporter.logs.length;
    // Truncated in place, as an operator's `> web.yml` or a half-written deploy would leave it.
    writeFileSync(webFile, '');
    const outcome = (): Record<string, unknown> | undefined =>
      exporter.logs
        .slice(seen)
        .find((l) => l.msg === 'web config reloaded' || String(l.msg).startsWith('web config reload failed'));
    await eventually('the reload is attempted', () => outcome() !== undefined);
    const line = outcome()!;
    assert.equal(line.msg, 'web config reload failed; keeping the previous configuration');
    assert.equal(line.level, 'error');
    assert.match(String(line.error), /basic_auth_users is gone: turning basic auth off needs a restart/);
    assert.equal((await get(port, '/-/healthy')).status, 401);
    assert.equal((await get(port, '/-/healthy', 'alice:alice-pw')).status, 200);
  });
});

describe('TLS listener: a connection that never starts its handshake', () => {
  let vc: Vcsim;
  let pki: TestPki;
  let dir: string;
  let exporter: ExporterProcess;
  let port: number;

  before(async () => {
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'vsx-handshake-'));
    const webFile = join(dir, 'web.yml');
    writeFileSync(
      webFile,
      `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n`,
    );
    vc = await startVcsim();
    exporter = await startExporter({
      env: exporterEnv(vc, dir),
      args: [`--web.config.file=${webFile}`],
      waitReady: false,
    });
    port = Number(new URL(exporter.baseUrl).port);
  });
  after(async () => {
    await exporter?.stop();
    await vc?.stop();
    pki?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('is closed by the server after the 10 s handshake timeout, not 120 s; HTTPS works meanwhile', async (t) => {
    const t0 = performance.now();
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    // The test's own limit: well past 10 s, far below Node's default of 120 s.
    const cut = setTimeout(() => socket.destroy(), 40_000);
    const closedAfter = new Promise<number>((resolve) =>
      socket.once('close', () => resolve((performance.now() - t0) / 1000)),
    );
    await sleep(1000);
    assert.equal((await httpsGet(pki, port, '/-/healthy', { client: 'none' })).status, 200);
    const seconds = await closedAfter;
    clearTimeout(cut);
    assert.ok(seconds > 5, `closed after ${seconds.toFixed(1)} s`);
    assert.ok(seconds < 30, `closed after ${seconds.toFixed(1)} s (or cut by the test at 40 s)`);
    t.diagnostic(
      `a silent TCP connection to the TLS port was closed by the server after ${seconds.toFixed(1)} s`,
    );
  });
});
