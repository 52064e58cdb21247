/**
 * "Never dies, never leaks, never hangs", part 1: file descriptors under a low open-files limit,
 * exactly one vCenter session with every ContainerView destroyed, and a transparent re-login after
 * vCenter expired the idle session or an administrator terminated it. Part 2 (vCenter restart,
 * wrong password, shutdown during a scrape) is reliability-restart.test.ts.
 *
 * The descriptor test and the session tests use separate simulators and run concurrently, so the
 * file takes about as long as the 3,000 scrapes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { startVcsim, terminateSession, type Vcsim } from '../harness/vcsim.js';
import { exporterEnv, fullInventoryArgs, metric, userSessions } from '../harness/env.js';

/**
 * Scrapes of the descriptor test, after a warm-up of FD_WARMUP scrapes: 3,000 with `inventory: full`
 * (a view created and destroyed per scrape); 400 with the default incremental inventory, whose every
 * scrape waits for vcsim's 250 ms update tick.
 */
const FD_RUNS = [
  { mode: 'full', scrapes: 3000 },
  { mode: 'incremental', scrapes: 400 },
] as const;
const FD_WARMUP = 20;
/**
 * `ulimit -n` of the exporter in the descriptor test. At start-up Node's ESM loader opens the
 * imports of a module all at once (over 100 files of ours and undici's at the widest point), so
 * 128 no longer starts it; a leak of one fd per 12 scrapes still hits 256, and the fd count is
 * compared (+2) whatever the limit.
 */
const FD_LIMIT = 256;
/**
 * Allowed growth of the open fd count over the most seen during warm-up. Keep-alive connections
 * (to vCenter, and the scraper's own) come and go, so one sample can sit above the rest; a leak
 * only ever adds.
 */
const FD_SLACK = 2;
/** Scrapes of the session/view test, with a session check every SESSION_CHECK_EVERY. */
const VIEW_SCRAPES = 50;
const SESSION_CHECK_EVERY = 10;
/** vcsim's session idle timeout, and how long the exporter is left idle (well past expiry). */
const IDLE_TIMEOUT = '3s';
const IDLE_MS = 10_000;

const UP_1 = /^vsphere_up 1$/m;

/** Sum over every series of `name` matching `labels` (0 when there is none). */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return find(samples, name, labels).reduce((s, x) => s + x.value, 0);
}

/** GET /metrics, asserting 200, parsed. */
async function scrapeSamples(exporter: ExporterProcess, what: string): Promise<Sample[]> {
  const res = await exporter.scrape();
  assert.equal(res.status, 200, `HTTP status of ${what}`);
  return parsePrometheusText(res.text).samples;
}

describe('reliability: descriptors and sessions', { concurrency: true }, () => {
  for (const { mode, scrapes: FD_SCRAPES } of FD_RUNS)
    test(`${FD_SCRAPES} sequential scrapes under ulimit -n ${FD_LIMIT} (inventory: ${mode}): all up, open fds unchanged`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'vsx-rel-'));
      const vc = await startVcsim();
      let exporter: ExporterProcess | undefined;
      try {
        exporter = await startExporter({
          env: exporterEnv(vc, dir),
          args: mode === 'full' ? fullInventoryArgs(dir) : [],
          ulimitNofile: FD_LIMIT,
        });
        const scrapeUp = async (n: number, of: string): Promise<void> => {
          let res;
          try {
            res = await exporter!.scrape();
          } catch (e) {
            assert.fail(`${of} scrape ${n}: no HTTP answer: ${String(e)}`);
          }
          // A cheap check per scrape (3,000 full parses would dominate the run time).
          if (res.status !== 200 || !UP_1.test(res.text))
            assert.fail(
              `${of} scrape ${n}: HTTP ${res.status}, vsphere_up 1 present: ${UP_1.test(res.text)}`,
            );
        };
        let fdsWarm = 0;
        for (let i = 1; i <= FD_WARMUP; i++) {
          await scrapeUp(i, 'warm-up');
          fdsWarm = Math.max(fdsWarm, exporter.openFds());
        }
        let fdsMin = Infinity;
        let fdsMax = 0;
        const rssWarm = exporter.rssBytes();
        const t0 = performance.now();
        for (let i = 1; i <= FD_SCRAPES; i++) {
          await scrapeUp(i, 'measured');
          if (i % 50 === 0) {
            const n = exporter.openFds();
            fdsMin = Math.min(fdsMin, n);
            fdsMax = Math.max(fdsMax, n);
          }
        }
        const seconds = (performance.now() - t0) / 1000;
        const fdsAfter = exporter.openFds();
        const last = await scrapeSamples(exporter, 'the final scrape');
        t.diagnostic(
          `fds (/proc/${exporter.pid}/fd, ulimit -n ${FD_LIMIT}): at most ${fdsWarm} during ${FD_WARMUP} warm-up scrapes, ` +
            `${fdsAfter} after ${FD_SCRAPES} more (min ${fdsMin}, max ${fdsMax} sampled every 50)`,
        );
        t.diagnostic(
          `${FD_SCRAPES} scrapes in ${seconds.toFixed(1)} s (${((seconds * 1000) / FD_SCRAPES).toFixed(1)} ms each); ` +
            `RSS ${mib(rssWarm)} → ${mib(exporter.rssBytes())} MiB; ` +
            `logins ${metric(last, 'vsphere_session_logins_total')}`,
        );
        assert.ok(
          Math.max(fdsAfter, fdsMax) <= fdsWarm + FD_SLACK,
          `open fds at most ${fdsWarm} during ${FD_WARMUP} warm-up scrapes; ${fdsMax} at most over ${FD_SCRAPES} more, ${fdsAfter} after them (+${FD_SLACK} allowed)`,
        );
        assert.equal(metric(last, 'vsphere_up'), 1, 'vsphere_up of the final scrape');
        assert.equal(metric(last, 'vsphere_session_logins_total'), 1, `logins over ${FD_SCRAPES} scrapes`);
      } finally {
        await exporter?.stop();
        await vc.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

  describe('vCenter sessions', { concurrency: false }, () => {
    test(`${VIEW_SCRAPES} scrapes: one session of the user at every check, each ContainerView destroyed`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'vsx-rel-'));
      const vc = await startVcsim();
      let proxy: FaultProxy | undefined;
      let exporter: ExporterProcess | undefined;
      try {
        proxy = await startFaultProxy(vc.url);
        exporter = await startExporter({ env: exporterEnv(vc, dir, { url: proxy.url }) });
        const seen: number[] = [];
        const check = async (after: number): Promise<void> => {
          const mine = await userSessions(vc);
          seen.push(mine.length);
          assert.equal(mine.length, 1, `sessions of ${vc.user} in vcsim after ${after} scrapes`);
        };
        await check(0);
        for (let i = 1; i <= VIEW_SCRAPES; i++) {
          const samples = await scrapeSamples(exporter, `scrape ${i}`);
          assert.equal(metric(samples, 'vsphere_up'), 1, `vsphere_up of scrape ${i}`);
          if (i % SESSION_CHECK_EVERY === 0) await check(i);
        }
        const c = proxy.counts();
        const n = (m: string): number => c[m] ?? 0;
        t.diagnostic(
          `sessions of the user at ${seen.length} checks: ${seen.join(', ')}; proxy saw Login ${n('Login')}, ` +
            `CreateContainerView ${n('CreateContainerView')}, DestroyView ${n('DestroyView')}, ` +
            `CreateFilter ${n('CreateFilter')}, DestroyPropertyFilter ${n('DestroyPropertyFilter')}`,
        );
        // The inventory model is one view and one filter for the session, kept by WaitForUpdatesEx:
        // no collector creates a view of its own, so none is left behind to destroy.
        assert.equal(n('CreateContainerView'), 1, `CreateContainerView calls in ${VIEW_SCRAPES} scrapes`);
        assert.equal(n('DestroyView'), 0, 'the watch keeps its view for the session');
        assert.ok(n('WaitForUpdatesEx') >= VIEW_SCRAPES, `WaitForUpdatesEx calls: ${n('WaitForUpdatesEx')}`);
        assert.equal(n('CreateFilter'), 1, 'the watch filter only');
        assert.equal(n('CreatePropertyCollector'), 1);
        assert.equal(n('DestroyPropertyFilter'), 0);
        assert.equal(n('Login'), 1, `Login calls in ${VIEW_SCRAPES} scrapes`);
      } finally {
        await exporter?.stop();
        await proxy?.close();
        await vc.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    describe(`session ended by vCenter (vcsim -session-idle-timeout ${IDLE_TIMEOUT})`, () => {
      let dir: string;
      let vc: Vcsim;
      let exporter: ExporterProcess;

      before(async () => {
        dir = mkdtempSync(join(tmpdir(), 'vsx-rel-'));
        vc = await startVcsim({ args: ['-session-idle-timeout', IDLE_TIMEOUT] });
        exporter = await startExporter({ env: exporterEnv(vc, dir) });
      });
      after(async () => {
        await exporter?.stop();
        await vc?.stop();
        rmSync(dir, { recursive: true, force: true });
      });

      test(`idle ${IDLE_MS / 1000} s past the idle timeout: the next scrape re-logs in transparently`, async (t) => {
        const first = await scrapeSamples(exporter, 'the first scrape');
        assert.equal(metric(first, 'vsphere_up'), 1, 'vsphere_up of the first scrape');
        const [original, ...others] = await userSessions(vc);
        assert.ok(original && others.length === 0, 'one session of the user after the first scrape');
        await sleep(IDLE_MS);
        assert.deepEqual(
          await userSessions(vc),
          [],
          `sessions of the user after ${IDLE_MS / 1000} s idle (vcsim must have expired the exporter's)`,
        );
        const t0 = performance.now();
        const samples = await scrapeSamples(exporter, 'the scrape after the idle period');
        const ms = performance.now() - t0;
        const mine = await userSessions(vc);
        const relogins = metric(samples, 'vsphere_session_relogins_total');
        const logins = metric(samples, 'vsphere_session_logins_total');
        t.diagnostic(
          `after ${IDLE_MS / 1000} s idle: scrape took ${ms.toFixed(0)} ms, vsphere_up ${metric(samples, 'vsphere_up')}, ` +
            `logins ${logins}, relogins ${relogins}, sessions of the user ${mine.length}`,
        );
        assert.equal(metric(samples, 'vsphere_up'), 1, 'vsphere_up of the scrape after the idle period');
        assert.equal(relogins, 1, 'vsphere_session_relogins_total after the idle expiry');
        assert.equal(logins, 2, 'vsphere_session_logins_total after the idle expiry');
        assert.equal(
          total(samples, 'vsphere_soap_requests_total', { method: 'Login' }),
          2,
          'Login calls so far',
        );
        for (const c of ['vm', 'host'])
          assert.equal(
            metric(samples, 'vsphere_collector_success', { collector: c }),
            1,
            `${c} collector success`,
          );
        assert.equal(mine.length, 1, 'sessions of the user after the re-login');
        assert.notEqual(mine[0]!.key, original.key, 'the session after the re-login is a new one');
        assert.ok(
          exporter.logs.some((l) => l.msg === 'vCenter session expired or was terminated; logging in again'),
          'the re-login is logged',
        );
      });

      test('an administrator terminates the session: the next scrape logs in once more', async (t) => {
        const before = await scrapeSamples(exporter, 'the scrape before TerminateSession');
        assert.equal(metric(before, 'vsphere_up'), 1, 'vsphere_up before TerminateSession');
        const logins = metric(before, 'vsphere_session_logins_total');
        const relogins = metric(before, 'vsphere_session_relogins_total');
        const [victim, ...others] = await userSessions(vc);
        assert.ok(victim && others.length === 0, 'one session of the user before TerminateSession');
        await terminateSession(vc, victim.key);
        assert.deepEqual(await userSessions(vc), [], 'sessions of the user right after TerminateSession');
        const samples = await scrapeSamples(exporter, 'the scrape after TerminateSession');
        const mine = await userSessions(vc);
        t.diagnostic(
          `TerminateSession: logins ${logins} → ${metric(samples, 'vsphere_session_logins_total')}, relogins ` +
            `${relogins} → ${metric(samples, 'vsphere_session_relogins_total')}, sessions of the user ${mine.length}`,
        );
        assert.equal(metric(samples, 'vsphere_up'), 1, 'vsphere_up after TerminateSession');
        assert.equal(
          metric(samples, 'vsphere_session_logins_total'),
          logins + 1,
          'vsphere_session_logins_total: exactly one more login',
        );
        assert.equal(
          metric(samples, 'vsphere_session_relogins_total'),
          relogins + 1,
          'vsphere_session_relogins_total: exactly one more re-login',
        );
        assert.equal(mine.length, 1, 'sessions of the user after TerminateSession and the next scrape');
        assert.notEqual(mine[0]!.key, victim.key, 'the terminated session is not the one listed');
      });
    });

    test('session terminated mid-collection: concurrent NotAuthenticated calls share one re-login', async (t) => {
      // The VM and host collectors' QueryPerf calls are held at the proxy for 1.5 s: the session is
      // terminated then, so both meet NotAuthenticated at once when they reach vCenter. The session
      // check of each recovery (a RetrievePropertiesEx) takes 300 ms, so both failures are certainly
      // being handled together.
      const dir = mkdtempSync(join(tmpdir(), 'vsx-rel-'));
      const vc = await startVcsim({ args: ['-method-delay', 'RetrievePropertiesEx:300'] });
      let proxy: FaultProxy | undefined;
      let exporter: ExporterProcess | undefined;
      try {
        proxy = await startFaultProxy(vc.url);
        exporter = await startExporter({ env: exporterEnv(vc, dir, { url: proxy.url }) });
        const [victim] = await userSessions(vc);
        assert.ok(victim, 'a session of the user after the start');
        proxy.addRule({ method: 'QueryPerf', fault: 'delay', delayMs: 1500, times: 2 });
        const pending = scrapeSamples(exporter, 'the scrape during which the session is terminated');
        pending.catch(() => undefined); // awaited below; no unhandled rejection while polling
        const px = proxy;
        const c = (): Record<string, number> => px.counts();
        // Both held at the proxy: neither has reached vCenter yet.
        for (const t0 = performance.now(); (c().QueryPerf ?? 0) < 2; await sleep(5))
          assert.ok(
            performance.now() - t0 < 10_000,
            'the vm and host QueryPerf reached the proxy within 10 s',
          );
        await terminateSession(vc, victim.key);
        const samples = await pending;
        const mine = await userSessions(vc);
        const relogins = metric(samples, 'vsphere_session_relogins_total');
        const logins = metric(samples, 'vsphere_session_logins_total');
        const logged = exporter.logs.filter(
          (l) => l.msg === 'vCenter session expired or was terminated; logging in again',
        );
        t.diagnostic(
          `terminated mid-collection: QueryPerf NotAuthenticated ${total(samples, 'vsphere_soap_requests_total', { method: 'QueryPerf', outcome: 'VSPHERE_NOT_AUTHENTICATED' })}, ` +
            `logins ${logins}, relogins ${relogins}, re-login log lines ${logged.length}, Login calls ${c().Login ?? 0}, sessions of the user ${mine.length}`,
        );
        // The collectors' calls in flight when the session ended (QueryPerf of vm and host, the
        // other kinds' RetrievePropertiesEx) all met NotAuthenticated, and shared one re-login.
        assert.ok(
          total(samples, 'vsphere_soap_requests_total', { outcome: 'VSPHERE_NOT_AUTHENTICATED' }) >= 2,
          'at least two calls met NotAuthenticated',
        );
        assert.equal(metric(samples, 'vsphere_up'), 1, 'vsphere_up of the scrape');
        for (const name of ['vm', 'host'])
          assert.equal(
            metric(samples, 'vsphere_collector_success', { collector: name }),
            1,
            `${name} collector success`,
          );
        assert.equal(logins, 2, 'vsphere_session_logins_total: the first login and one re-login');
        assert.equal(relogins, 1, 'vsphere_session_relogins_total: one re-login for one terminated session');
        assert.equal(logged.length, 1, 're-login log lines');
        assert.equal(c().Login, 2, 'Login calls seen by the proxy');
        assert.equal(mine.length, 1, 'sessions of the user after the scrape');
      } finally {
        await exporter?.stop();
        await proxy?.close();
        await vc.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
