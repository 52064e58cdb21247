/**
 * Login and shutdown against a broken or slow vCenter (vcsim behind the fault proxy): a Login
 * answer without the session cookie, a Login answer trickled byte by byte, a password file that
 * blocks, a slow Logout at shutdown, and a fault string that echoes the password.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import { runExporterOnce, startExporter, type ExporterProcess } from '../harness/exporter.js';
import { soapFault } from '../harness/fault-bodies.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import type { Exit } from '../harness/procs.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { exporterEnv, metric, userSessions } from '../harness/env.js';

/** The documented exit promise after SIGTERM, and the slack a busy 2-core machine is given on top. */
const EXIT_PROMISE_MS = 5_000;
const BUSY_SLACK_MS = 2_000;
const SCRAPES = 20;

/** Everything a test started, stopped in reverse order whatever happened. */
async function withSetup(
  fn: (s: {
    dir: string;
    vc: Vcsim;
    proxy: FaultProxy;
    own: (e: ExporterProcess) => ExporterProcess;
  }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vsx-login-'));
  const vc = await startVcsim();
  const exporters: ExporterProcess[] = [];
  let proxy: FaultProxy | undefined;
  try {
    proxy = await startFaultProxy(vc.url);
    await fn({ dir, vc, proxy, own: (e) => (exporters.push(e), e) });
  } finally {
    for (const e of exporters) await e.stop();
    await proxy?.close();
    await vc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SIGTERM, then the exit and how long it took (undefined exit: still running after the window). */
async function sigterm(exporter: ExporterProcess, windowMs: number): Promise<{ exit?: Exit; ms: number }> {
  const t0 = performance.now();
  exporter.signal('SIGTERM');
  const exit = await Promise.race([exporter.exited, sleep(windowMs, undefined, { ref: false })]);
  return { ...(exit && { exit }), ms: performance.now() - t0 };
}

/** Set-Cookie with vCenter's session cookie renamed, as a misconfigured proxy in between does. */
function renameCookie(h: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const v = h['set-cookie'];
  const lines = Array.isArray(v) ? v : v === undefined ? [] : [String(v)];
  return { ...h, 'set-cookie': lines.map((l) => l.replace(/^vmware_soap_session=/, 'proxy_session=')) };
}

describe('reliability: login and shutdown', { concurrency: false }, () => {
  test(`Login answer without a vmware_soap_session cookie: ${SCRAPES} scrapes leave no session, back off, say why`, async (t) =>
    withSetup(async ({ dir, vc, proxy, own }) => {
      proxy.addRule({ method: 'Login', fault: 'mangle', headers: renameCookie });
      const exporter = own(
        await startExporter({ env: exporterEnv(vc, dir, { url: proxy.url }), waitReady: false }),
      );
      const errors = new Set<string>();
      let up = 0;
      for (let i = 1; i <= SCRAPES; i++) {
        const res = await exporter.scrape();
        assert.equal(res.status, 200, `HTTP status of scrape ${i}`);
        const samples = parsePrometheusText(res.text).samples;
        up += metric(samples, 'vsphere_up');
        for (const s of find(samples, 'vsphere_last_error_info'))
          errors.add(`${s.labels.code}: ${s.labels.message}`);
        await sleep(1000); // 20 s in all: longer than the first back-off step (15 s)
      }
      const sessions = await userSessions(vc);
      const logins = proxy.counts().Login ?? 0;
      const failed = exporter.logs.filter(
        (l) => l.msg === 'vCenter Login answer had no session cookie; login failed',
      );
      t.diagnostic(
        `${SCRAPES} scrapes over ${SCRAPES} s: Login calls ${logins}, sessions of the user on vcsim ${sessions.length}, ` +
          `vsphere_up 1 in ${up}; errors: ${[...errors].join(' | ')}; ` +
          `logged: ${failed.map((l) => `retry in ${String(l.retryInSeconds)} s, logged out ${String(l.sessionLoggedOut)}`).join('; ')}`,
      );
      assert.equal(up, 0, 'no scrape is up without a usable session');
      assert.equal(sessions.length, 0, 'sessions of the user left on vcsim');
      // Back-off: a login at the start and one after 15 s (the next step is 30 s later).
      assert.ok(logins >= 1 && logins <= 3, `Login calls in ${SCRAPES} s: ${logins} (back-off: at most 3)`);
      assert.ok(
        [...errors].some((e) => e.startsWith('VSPHERE_BAD_RESPONSE:') && e.includes('vmware_soap_session')),
        `vsphere_last_error_info names the missing cookie: ${[...errors].join(' | ')}`,
      );
      assert.ok(
        failed.length >= 1 && failed[0]!.sessionLoggedOut === true,
        'the failure is logged, session logged out',
      );
      assert.equal(failed[0]!.retryInSeconds, 15, 'first back-off step');
    }));

  test('Login answer trickled at 1 byte/s: abandoned at the login deadline, scrapes recover, its session logged out', async (t) =>
    withSetup(async ({ dir, vc, proxy, own }) => {
      // A 5 s request timeout caps the login deadline at 5 s; the trickled answer (hundreds of bytes)
      // would take minutes, and the per-chunk body timeout never trips on it.
      const config = join(dir, 'timeouts.yml');
      writeFileSync(config, 'vsphere:\n  request_timeout_seconds: 5\n');
      proxy.addRule({ method: 'Login', fault: 'slow-body', times: 1 });
      const exporter = own(
        await startExporter({
          env: exporterEnv(vc, dir, { url: proxy.url }),
          args: ['--config.file', config],
          waitReady: false,
        }),
      );
      const t0 = performance.now();
      let recoveredAfter: number | undefined;
      const seen: string[] = [];
      while (performance.now() - t0 < 40_000) {
        const res = await exporter.scrape('/metrics', { 'X-Prometheus-Scrape-Timeout-Seconds': '3' });
        const samples = parsePrometheusText(res.text).samples;
        const err = find(samples, 'vsphere_last_error_info')[0];
        seen.push(err ? `${String(err.labels.code)} (${String(err.labels.message)})` : 'up');
        if (metric(samples, 'vsphere_up') === 1) {
          recoveredAfter = performance.now() - t0;
          break;
        }
        await sleep(500);
      }
      const sessions = await userSessions(vc);
      const abandoned = exporter.logs.filter(
        (l) => l.msg === 'logged out of a vCenter session the exporter could not use',
      );
      t.diagnostic(
        `recovered after ${recoveredAfter === undefined ? 'never (40 s)' : `${(recoveredAfter / 1000).toFixed(1)} s`}; ` +
          `scrape outcomes: ${seen.join(',')}; Login calls ${proxy.counts().Login ?? 0}; ` +
          `abandoned-session logouts ${abandoned.length}; sessions of the user ${sessions.length}`,
      );
      assert.ok(
        recoveredAfter !== undefined,
        'a scrape is up again within 40 s (the trickle alone takes minutes)',
      );
      assert.equal(abandoned.length, 1, 'the abandoned Login’s session is logged out');
      assert.equal(sessions.length, 1, 'sessions of the user: only the working one');
    }));

  test('SIGTERM while Login hangs (proxy holds the answer): exit within the 5 s promise', async (t) =>
    withSetup(async ({ dir, vc, proxy, own }) => {
      proxy.addRule({ method: 'Login', fault: 'stall-headers' });
      const exporter = own(
        await startExporter({ env: exporterEnv(vc, dir, { url: proxy.url }), waitReady: false }),
      );
      for (const t0 = performance.now(); !proxy.counts().Login; await sleep(20))
        assert.ok(performance.now() - t0 < 10_000, 'the exporter sent Login within 10 s');
      const { exit, ms } = await sigterm(exporter, EXIT_PROMISE_MS + 10_000);
      t.diagnostic(
        `SIGTERM → ${exit ? `exit code ${exit.code}, signal ${exit.signal}` : 'still running'} after ${ms.toFixed(0)} ms`,
      );
      assert.ok(exit, 'the exporter exited');
      assert.ok(ms < EXIT_PROMISE_MS + BUSY_SLACK_MS, `exit ${ms.toFixed(0)} ms after SIGTERM`);
    }));

  test('SIGTERM while a login waits on a password file that blocks (a FIFO without writer): exit within the promise', async (t) =>
    withSetup(async ({ dir, vc, proxy, own }) => {
      // The first logins fail at ServiceContent (HTML 503), so each scrape logs in again and reads
      // the password file anew: the one after the swap blocks on the FIFO.
      proxy.addRule({ method: 'RetrieveServiceContent', fault: 'html-503' });
      const env = exporterEnv(vc, dir, { url: proxy.url });
      const exporter = own(await startExporter({ env, waitReady: false }));
      // The login at start has read the (regular) file and failed; only then the swap.
      for (const t0 = performance.now(); !proxy.counts().RetrieveServiceContent; await sleep(20))
        assert.ok(performance.now() - t0 < 10_000, 'the login at start reached vCenter within 10 s');
      await sleep(200);
      const file = env.VSPHERE_PASSWORD_FILE!;
      unlinkSync(file);
      execFileSync('mkfifo', ['-m', '600', file]);
      let answered = false;
      const scrape = exporter.scrape().then(
        () => void (answered = true),
        () => void (answered = true),
      );
      await sleep(1500);
      assert.equal(answered, false, 'the scrape’s login is blocked reading the FIFO');
      assert.equal(proxy.counts().RetrieveServiceContent, 1, 'no login got past the password read');
      const { exit, ms } = await sigterm(exporter, EXIT_PROMISE_MS + 10_000);
      await scrape;
      t.diagnostic(
        `SIGTERM → ${exit ? `exit code ${exit.code}, signal ${exit.signal}` : 'still running'} after ${ms.toFixed(0)} ms; ` +
          `log: ${exporter.logs
            .slice(-5)
            .map((l) => JSON.stringify(l))
            .join(' / ')}`,
      );
      assert.ok(exit, 'the exporter exited (before: "shutdown took too long; exiting", then still alive)');
      assert.ok(ms < EXIT_PROMISE_MS + BUSY_SLACK_MS, `exit ${ms.toFixed(0)} ms after SIGTERM`);
    }));

  test('SIGTERM with a slow Logout (answered after 2.5 s): still logged out, no session left, exit within the promise', async (t) =>
    withSetup(async ({ dir, vc, proxy, own }) => {
      // The proxy holds Logout 2.5 s before passing it on, and drops it if the exporter gives up
      // first: a Logout cut by a shorter bound never reaches vCenter and its session stays.
      proxy.addRule({ method: 'Logout', fault: 'delay', delayMs: 2500 });
      const exporter = own(await startExporter({ env: exporterEnv(vc, dir, { url: proxy.url }) }));
      assert.equal((await userSessions(vc)).length, 1, 'sessions of the user before SIGTERM');
      const { exit, ms } = await sigterm(exporter, EXIT_PROMISE_MS + 10_000);
      const sessions = (await userSessions(vc)).length;
      t.diagnostic(
        `SIGTERM → ${exit ? `exit code ${exit.code}` : 'still running'} after ${ms.toFixed(0)} ms; ` +
          `Logout calls ${proxy.counts().Logout ?? 0}; sessions left ${sessions}`,
      );
      assert.ok(exit, 'the exporter exited');
      assert.equal(exit.code, 0, 'exit code');
      assert.ok(ms < EXIT_PROMISE_MS + BUSY_SLACK_MS, `exit ${ms.toFixed(0)} ms after SIGTERM`);
      assert.ok(
        exporter.logs.some((l) => l.msg === 'logged out of vCenter'),
        'the log has "logged out of vCenter"',
      );
      assert.equal(sessions, 0, 'sessions of the user after the shutdown');
    }));

  test('a fault string echoing the password: not in /metrics, the status page, the log, nor check --format=json', async (t) =>
    withSetup(async ({ dir, vc, proxy, own }) => {
      const echo = (type: string) => (): string =>
        soapFault(
          `Cannot complete login for user ${vc.user} with password ${vc.password}`,
          `<${type}Fault xmlns="urn:vim25" xsi:type="${type}"/>`,
        );
      proxy.addRule({ method: 'Login', fault: 'mangle', transform: echo('SystemError') });
      const env = exporterEnv(vc, dir, { url: proxy.url });
      const exporter = own(await startExporter({ env, waitReady: false }));
      const failed = await exporter.scrape();
      const status = await exporter.scrape('/');
      // Then a logged-in scrape whose QueryPerf faults with the same echo (the client's path).
      proxy.clearRules();
      proxy.addRule({ method: 'QueryPerf', fault: 'mangle', transform: echo('SystemError') });
      const partial = await exporter.scrape();
      const status2 = await exporter.scrape('/');
      proxy.clearRules();
      proxy.addRule({ method: 'Login', fault: 'mangle', transform: echo('InvalidLogin') });
      const check = await runExporterOnce(['check', '--format=json'], env);
      const log = exporter.logs.map((l) => JSON.stringify(l)).join('\n');
      const lastError = find(parsePrometheusText(failed.text).samples, 'vsphere_last_error_info')[0];
      t.diagnostic(`vsphere_last_error_info: ${JSON.stringify(lastError?.labels)}`);
      t.diagnostic(`check: exit ${check.code}; ${check.stdout.slice(0, 400)}`);
      const outputs: [string, string][] = [
        ['/metrics (Login fault)', failed.text],
        ['status page (Login fault)', status.text],
        ['/metrics (QueryPerf fault)', partial.text],
        ['status page (QueryPerf fault)', status2.text],
        ['the log', log],
        ['check --format=json', check.stdout + check.stderr],
      ];
      for (const [where, text] of outputs) {
        for (const form of [vc.password, encodeURIComponent(vc.password)])
          assert.ok(!text.includes(form), `the password appears in ${where}`);
      }
      // The fault texts did arrive, scrubbed: the test is not passing on a missing message.
      assert.match(String(lastError?.labels.message), /with password <secret>/);
      assert.match(status.text, /with password &lt;secret&gt;|with password <secret>/);
      assert.match(check.stdout, /with password <secret>/);
      assert.match(log, /with password <secret>/);
    }));
});
