/**
 * "Never dies, never leaks, never hangs", part 2: vCenter stopped and restarted on the same port,
 * a wrong password (lockout-safe backoff, fast answers, flat memory, a fixed password file picked up
 * at once), and SIGTERM while a collection is in flight. Part 1 is reliability-session.test.ts.
 *
 * The tests run one after the other: they pace scrapes on fixed schedules and count Login attempts
 * over tens of seconds, which another test starting processes next to them would disturb.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, type Sample } from '../harness/prom-text.js';
import { procAlive } from '../harness/procs.js';
import { startVcsim } from '../harness/vcsim.js';
import { exporterEnv, metric, timedScrape, userSessions } from '../harness/env.js';

/** How long vCenter is down (the issue's scenario is 30 s; CI uses a short outage). */
const OUTAGE_MS = 5_000;
/** Scrape period of the restart test, and the answer time every scrape must beat during the outage. */
const RESTART_PERIOD_MS = 1_000;
const OUTAGE_ANSWER_MS = 1_000;
/** Scrapes after the restart within which vsphere_up must be 1 again. */
const RECOVERY_SCRAPES = 2;
/** Allowed difference of the open fd count (keep-alive connections to vCenter come and go). */
const FD_SLACK = 2;

/** How long the wrong password is scraped, and how often. */
const WRONG_PASSWORD_MS = 35_000;
const WRONG_PASSWORD_PERIOD_MS = 200;
/**
 * During the back-off an answer must not wait for vCenter: no Login (counted below, exactly) and no
 * wait for the 15 s back-off or the 9.5 s scrape deadline. The bound says that with a margin a busy
 * machine cannot break (answers take a few ms; the old 100 ms bound failed at 131 ms under load).
 */
const FAST_ANSWER_MS = 1_000;
/** The first scrape waits for the first (failing) Login: it must still answer well before its 9.5 s deadline. */
const FIRST_ANSWER_MS = 5_000;
/** First back-off of the exporter after a refused login (15 s), less polling jitter. */
const MIN_LOGIN_GAP_MS = 14_000;
/**
 * The refused-scrape burst. Its memory is compared at two points at least REFUSED_SPAN scrapes
 * apart, the first after REFUSED_WARM scrapes (V8's heap warm-up, ~1,000 here), each right after
 * one of V8's full collections (it cannot be asked for one: the burst goes on until they come, up
 * to REFUSED_MAX) and the smallest over the REFUSED_WINDOW scrapes from there. A leak only grows,
 * so its smallest is at each window's start: REFUSED_GROWTH_LIMIT is ~1 KB a scrape.
 */
const REFUSED_WARM = 1_000;
const REFUSED_SPAN = 2_000;
const REFUSED_WINDOW = 200;
const REFUSED_MAX = 8_000;
const REFUSED_GROWTH_LIMIT = 2 * 1024 * 1024;
/**
 * RSS also holds what malloc and V8 keep for reuse, and the garbage of the scrapes since V8's last
 * full collection: runs of the same build settle anywhere from ~100 to ~125 MiB, some of them late,
 * and one climbed to 143 MiB in 2,000 scrapes without a full collection, then fell to 127. Its
 * bound (the smallest of each 100 scrapes over the middle and last thirds of the first 3,000) only
 * catches large native leaks, such as a zlib stream per scrape.
 */
const RSS_GROWTH_LIMIT = 32 * 1024 * 1024;
/** vCenter SSO's default lockout policy: 5 failures in 180 s; the exporter stays at ≤ 4. */
const LOCKOUT_WINDOW_MS = 180_000;
const LOCKOUT_MAX_ATTEMPTS = 4;

/** QueryPerf delay that keeps a collection in flight while SIGTERM arrives, and the exit promise. */
const QUERY_PERF_DELAY_MS = 8_000;
const SHUTDOWN_LIMIT_MS = 5_000;

/** The `code` label of vsphere_last_error_info, or undefined when there is none. */
function errorCode(samples: Sample[]): string | undefined {
  return find(samples, 'vsphere_last_error_info')[0]?.labels.code;
}

/** A TCP port that was free a moment ago (bind to 0, read it, close). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

describe('reliability: vCenter restart, wrong password, shutdown', () => {
  test('wrong password: lockout-safe back-off, answers without waiting for vCenter, fixed file used at once', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-rel-'));
    const vc = await startVcsim();
    let proxy: FaultProxy | undefined;
    let exporter: ExporterProcess | undefined;
    try {
      proxy = await startFaultProxy(vc.url);
      const env = exporterEnv(vc, dir, { url: proxy.url, password: `${vc.password}-wrong` });
      exporter = await startExporter({ env, waitReady: false });
      const logins = (): number => proxy!.counts().Login ?? 0;
      const start = performance.now();
      const loginTimes: number[] = [];
      const pollLogins = (): void => {
        for (let n = logins(); loginTimes.length < n;) loginTimes.push(performance.now() - start);
      };
      const times: number[] = [];
      let rssEarly = 0;
      // Paced against a fixed schedule, so slow answers do not stretch the test.
      for (let i = 0; performance.now() - start < WRONG_PASSWORD_MS; i++) {
        const wait = start + i * WRONG_PASSWORD_PERIOD_MS - performance.now();
        if (wait > 0) await sleep(wait);
        const r = await timedScrape(exporter);
        pollLogins();
        const limit = i === 0 ? FIRST_ANSWER_MS : FAST_ANSWER_MS;
        assert.ok(r.ms < limit, `scrape ${i + 1} answered in ${r.ms.toFixed(1)} ms (limit ${limit} ms)`);
        assert.equal(r.status, 200, `HTTP status of scrape ${i + 1}`);
        assert.equal(metric(r.samples, 'vsphere_up'), 0, `vsphere_up of scrape ${i + 1}`);
        assert.equal(
          errorCode(r.samples),
          'VSPHERE_INVALID_LOGIN',
          `vsphere_last_error_info code of scrape ${i + 1}`,
        );
        times.push(r.ms);
        if (i === 4) rssEarly = exporter.rssBytes();
      }
      const elapsed = performance.now() - start;
      const rssEnd = exporter.rssBytes();
      const gaps = loginTimes.slice(1).map((at, i) => at - loginTimes[i]!);
      const silence = elapsed - loginTimes.at(-1)!;
      const retries = exporter.logs
        .filter((l) => l.msg === 'vCenter rejected the login')
        .map((l) => l.retryInSeconds);
      const later = times.slice(1);
      t.diagnostic(
        `${times.length} scrapes in ${(elapsed / 1000).toFixed(1)} s; Login attempts seen by the proxy at ` +
          `${loginTimes.map((x) => (x / 1000).toFixed(1)).join(', ')} s (gaps ${gaps.map((g) => (g / 1000).toFixed(1)).join(', ')} s, ` +
          `then ${(silence / 1000).toFixed(1)} s without one); logged back-offs ${retries.join(', ')} s`,
      );
      t.diagnostic(
        `answer times: first ${times[0]!.toFixed(1)} ms, then median ${quantile(later, 0.5).toFixed(1)} ms, ` +
          `p99 ${quantile(later, 0.99).toFixed(1)} ms, max ${Math.max(...later).toFixed(1)} ms; ` +
          `RSS ${mib(rssEarly)} → ${mib(rssEnd)} MiB (after scrape 5 → end)`,
      );
      assert.ok(
        loginTimes.length >= 2,
        `Login attempts in ${(elapsed / 1000).toFixed(1)} s: ${loginTimes.length} (expected the retry at ~15 s)`,
      );
      assert.ok(
        loginTimes.length <= 3,
        `Login attempts in ${(elapsed / 1000).toFixed(1)} s: ${loginTimes.length} (≤ 3 allowed)`,
      );
      for (const [i, at] of loginTimes.entries()) {
        const inWindow = loginTimes.filter((x) => x >= at && x < at + LOCKOUT_WINDOW_MS).length;
        assert.ok(
          inWindow <= LOCKOUT_MAX_ATTEMPTS,
          `Login attempts in the 180 s from attempt ${i + 1}: ${inWindow}`,
        );
      }
      for (const [i, gap] of gaps.entries()) {
        assert.ok(
          gap >= MIN_LOGIN_GAP_MS,
          `gap before Login attempt ${i + 2}: ${gap.toFixed(0)} ms (≥ ${MIN_LOGIN_GAP_MS})`,
        );
        if (i > 0)
          assert.ok(gap >= 1.9 * gaps[i - 1]!, `gap ${i + 1} (${gap.toFixed(0)} ms) about doubles gap ${i}`);
      }
      // Exponential, not constant: the wait after the last attempt already outlasts the gap before it.
      assert.ok(
        silence > gaps.at(-1)! + 2_000,
        `${silence.toFixed(0)} ms without a Login since the last attempt, longer than the gap before it (${gaps.at(-1)!.toFixed(0)} ms)`,
      );
      assert.deepEqual(
        retries.slice(0, 2),
        [15, 30],
        'back-offs logged with "vCenter rejected the login" (s)',
      );

      // Fix the password in the same file, inside the back-off window: the next scrape uses it.
      const attemptsBefore = logins();
      const sinceLastAttempt = performance.now() - start - loginTimes.at(-1)!;
      writeFileSync(env.VSPHERE_PASSWORD_FILE!, `${vc.password}\n`);
      const fixed = await timedScrape(exporter);
      t.diagnostic(
        `password fixed ${(sinceLastAttempt / 1000).toFixed(1)} s after the last refused attempt: next scrape ` +
          `${fixed.ms.toFixed(0)} ms, vsphere_up ${metric(fixed.samples, 'vsphere_up')}, Login attempts ${attemptsBefore} → ${logins()}`,
      );
      assert.ok(sinceLastAttempt < 30_000, 'the password was fixed inside the 30 s back-off window');
      assert.equal(fixed.status, 200, 'HTTP status of the scrape after the fix');
      assert.equal(metric(fixed.samples, 'vsphere_up'), 1, 'vsphere_up of the scrape after the password fix');
      assert.equal(errorCode(fixed.samples), undefined, 'vsphere_last_error_info after the fix');
      assert.equal(logins(), attemptsBefore + 1, 'Login attempts: exactly one more, for the fixed password');
      assert.equal(metric(fixed.samples, 'vsphere_session_logins_total'), 1, 'vsphere_session_logins_total');
      assert.equal((await userSessions(vc)).length, 1, 'sessions of the user after the fix');
    } finally {
      await exporter?.stop();
      await proxy?.close();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`wrong password: refused scrapes leave the heap, Buffers, fds and RSS flat once warm (${REFUSED_SPAN} scrapes apart)`, async (t) => {
    // The paced test above sees too few scrapes to tell a leak from V8 growing its heap to its
    // steady size (RSS at scrape 5 depends on when the first collections ran); a burst does.
    const dir = mkdtempSync(join(tmpdir(), 'vsx-rel-'));
    const vc = await startVcsim();
    let exporter: ExporterProcess | undefined;
    try {
      const env = exporterEnv(vc, dir, { password: `${vc.password}-wrong` });
      exporter = await startExporter({ env, waitReady: false });
      // The exporter's own figures (prom-client's). The heap and fds in the first scrape after
      // each full collection (V8's major GC count went up): what is still held then, that
      // scrape's own allocations aside. Buffer memory in every scrape: a Buffer is freed by either
      // collection, and one reading may catch a scrape's gzip output in flight. RSS: the smallest
      // of each 100 scrapes.
      const collected: { scrape: number; heap: number; fds: number }[] = [];
      const buffers: number[] = [];
      const rss: number[] = [];
      let rssLow = Infinity;
      let majors = 0;
      let start: number | undefined;
      let end: number | undefined;
      let scrapes = 0;
      for (let i = 1; i <= REFUSED_MAX; i++) {
        scrapes = i;
        const r = await timedScrape(exporter);
        assert.equal(metric(r.samples, 'vsphere_up'), 0, `vsphere_up of scrape ${i}`);
        const count = find(r.samples, 'nodejs_gc_duration_seconds_count', { kind: 'major' })[0]?.value ?? 0;
        if (count > majors) {
          collected.push({
            scrape: i,
            heap: metric(r.samples, 'nodejs_heap_size_used_bytes'),
            fds: metric(r.samples, 'process_open_fds'),
          });
          if (start === undefined && i >= REFUSED_WARM) start = i;
          if (start !== undefined && end === undefined && i >= start + REFUSED_SPAN) end = i;
        }
        majors = count;
        buffers[i] = metric(r.samples, 'nodejs_external_memory_bytes');
        rssLow = Math.min(rssLow, exporter.rssBytes());
        if (i % 100 === 0) {
          rss.push(rssLow);
          rssLow = Infinity;
        }
        if (end !== undefined && i >= end + REFUSED_WINDOW && i >= 3_000) break;
      }
      t.diagnostic(
        `${scrapes} refused scrapes; after each full collection (scrape: heap MiB, Buffers MiB, fds): ` +
          collected
            .map((c) => `${c.scrape}: ${mib(c.heap)}, ${mib(buffers[c.scrape]!)}, ${c.fds}`)
            .join('; '),
      );
      t.diagnostic(`RSS every 100 refused scrapes (MiB): ${rss.map(mib).join(', ')}`);
      assert.ok(
        start !== undefined && end !== undefined,
        `full collections at least ${REFUSED_SPAN} scrapes apart after scrape ${REFUSED_WARM} within ${REFUSED_MAX} scrapes (V8 ran ${majors})`,
      );
      const from = collected.filter((c) => c.scrape >= start && c.scrape < start + REFUSED_WINDOW);
      const to = collected.filter((c) => c.scrape >= end && c.scrape < end + REFUSED_WINDOW);
      const within = (at: number): number[] => buffers.slice(at, at + REFUSED_WINDOW);
      const grew = {
        heap: Math.min(...to.map((c) => c.heap)) - Math.min(...from.map((c) => c.heap)),
        buffers: Math.min(...within(end)) - Math.min(...within(start)),
      };
      for (const [key, growth] of Object.entries(grew))
        assert.ok(
          growth < REFUSED_GROWTH_LIMIT,
          `${key}: ${mib(growth)} MiB more from scrape ${end} than from ${start}, each just after a full collection (< ${mib(REFUSED_GROWTH_LIMIT)} MiB allowed)`,
        );
      const fdsFrom = Math.min(...from.map((c) => c.fds));
      const fdsTo = Math.max(...to.map((c) => c.fds));
      assert.ok(
        fdsTo <= fdsFrom + FD_SLACK,
        `open fds ${fdsFrom} at scrape ${start}, ${fdsTo} at ${end} (+${FD_SLACK} allowed)`,
      );
      const first = rss.slice(0, 30);
      const rssGrew = Math.min(...first.slice(20)) - Math.min(...first.slice(10, 20));
      assert.ok(
        rssGrew < RSS_GROWTH_LIMIT,
        `RSS growth from the middle to the last third of the first 3,000 refused scrapes: ${mib(rssGrew)} MiB (< ${mib(RSS_GROWTH_LIMIT)} MiB allowed)`,
      );
    } finally {
      await exporter?.stop();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`vCenter down ${OUTAGE_MS / 1000} s and restarted on the same port: fast vsphere_up 0, then a fresh session`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-rel-'));
    const port = await freePort();
    const args = ['-listen', `127.0.0.1:${port}`];
    let vc = await startVcsim({ args });
    let exporter: ExporterProcess | undefined;
    try {
      exporter = await startExporter({ env: exporterEnv(vc, dir) });
      const ex = exporter;
      // Scrapes on a fixed 1 s schedule for the whole test.
      let next = performance.now();
      const tick = async (): Promise<Awaited<ReturnType<typeof timedScrape>>> => {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next = Math.max(next + RESTART_PERIOD_MS, performance.now());
        return timedScrape(ex);
      };
      for (let i = 1; i <= 3; i++) {
        const r = await tick();
        assert.equal(metric(r.samples, 'vsphere_up'), 1, `vsphere_up of scrape ${i} before the outage`);
      }
      const fdsBefore = ex.openFds();

      await vc.stop();
      const down = performance.now();
      const outage: number[] = [];
      while (performance.now() - down < OUTAGE_MS) {
        const r = await tick();
        const n = outage.length + 1;
        assert.ok(r.ms < OUTAGE_ANSWER_MS, `outage scrape ${n} answered in ${r.ms.toFixed(0)} ms`);
        assert.equal(r.status, 200, `HTTP status of outage scrape ${n}`);
        assert.equal(metric(r.samples, 'vsphere_up'), 0, `vsphere_up of outage scrape ${n}`);
        assert.equal(
          errorCode(r.samples),
          'VSPHERE_CONNECTION',
          `vsphere_last_error_info code of outage scrape ${n}`,
        );
        outage.push(r.ms);
      }
      vc = await startVcsim({ args });
      const upAfter: number[] = [];
      let recovered: Sample[] | undefined;
      for (let i = 1; i <= RECOVERY_SCRAPES && !recovered; i++) {
        const r = await tick();
        upAfter.push(metric(r.samples, 'vsphere_up'));
        if (upAfter.at(-1) === 1) recovered = r.samples;
      }
      const sessions = (await userSessions(vc)).length;
      for (let i = 1; i <= 3; i++) {
        const r = await tick();
        assert.equal(metric(r.samples, 'vsphere_up'), 1, `vsphere_up of scrape ${i} after the recovery`);
        for (const c of ['vm', 'host'])
          assert.equal(
            metric(r.samples, 'vsphere_collector_success', { collector: c }),
            1,
            `${c} collector success in scrape ${i} after the recovery`,
          );
      }
      const fdsAfter = ex.openFds();
      t.diagnostic(
        `outage ${OUTAGE_MS / 1000} s: ${outage.length} scrapes answered in ${outage.map((ms) => ms.toFixed(0)).join(', ')} ms, ` +
          `all vsphere_up 0 / VSPHERE_CONNECTION; after the restart vsphere_up ${upAfter.join(', ')}`,
      );
      t.diagnostic(
        `after the restart: logins ${recovered ? metric(recovered, 'vsphere_session_logins_total') : '?'}, relogins ` +
          `${recovered ? metric(recovered, 'vsphere_session_relogins_total') : '?'}, sessions of the user ${sessions}; ` +
          `fds ${fdsBefore} before the outage, ${fdsAfter} three scrapes after the restart`,
      );
      assert.ok(
        outage.length >= Math.floor(OUTAGE_MS / RESTART_PERIOD_MS) - 1,
        `scrapes during the outage: ${outage.length}`,
      );
      assert.ok(
        recovered,
        `vsphere_up within ${RECOVERY_SCRAPES} scrapes after the restart: ${upAfter.join(', ')}`,
      );
      assert.equal(
        metric(recovered, 'vsphere_session_logins_total'),
        2,
        'logins: the first and one after the restart',
      );
      assert.equal(metric(recovered, 'vsphere_session_relogins_total'), 1, 'relogins after the restart');
      for (const c of ['vm', 'host'])
        assert.equal(
          metric(recovered, 'vsphere_collector_success', { collector: c }),
          1,
          `${c} collector success`,
        );
      assert.equal(sessions, 1, 'sessions of the user in the restarted vcsim');
      assert.ok(
        Math.abs(fdsAfter - fdsBefore) <= FD_SLACK,
        `open fds before the outage ${fdsBefore}, after the restart ${fdsAfter} (±${FD_SLACK} allowed)`,
      );
    } finally {
      await exporter?.stop();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGTERM while a collection waits for QueryPerf: exit 0 within 5 s, logged out, no session left', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-rel-'));
    const vc = await startVcsim({ args: ['-method-delay', `QueryPerf:${QUERY_PERF_DELAY_MS}`] });
    let exporter: ExporterProcess | undefined;
    try {
      exporter = await startExporter({ env: exporterEnv(vc, dir) });
      assert.equal((await userSessions(vc)).length, 1, 'sessions of the user before the scrape');
      let outcome = 'pending';
      const pending = exporter.scrape().then(
        (r) =>
          void (outcome = `HTTP ${r.status}, vsphere_up ${/^vsphere_up (\d)$/m.exec(r.text)?.[1] ?? '?'}`),
        (e: unknown) => void (outcome = `connection closed (${e instanceof Error ? e.message : String(e)})`),
      );
      await sleep(500);
      assert.equal(outcome, 'pending', 'the scrape is still waiting for QueryPerf when SIGTERM is sent');
      const exited = exporter.exited;
      const t0 = performance.now();
      exporter.signal('SIGTERM');
      // Unref'd guards: a timer left pending after the race must not hold the test file open.
      const exit = await Promise.race([exited, sleep(SHUTDOWN_LIMIT_MS + 5_000, undefined, { ref: false })]);
      const ms = performance.now() - t0;
      await Promise.race([pending, sleep(1_000, undefined, { ref: false })]);
      const sessions = (await userSessions(vc)).length;
      t.diagnostic(
        `SIGTERM → exit ${exit ? `code ${exit.code}, signal ${exit.signal}` : 'none'} after ${ms.toFixed(0)} ms; ` +
          `pending scrape: ${outcome}; sessions of the user afterwards ${sessions}`,
      );
      assert.ok(exit, `the exporter exited within ${(SHUTDOWN_LIMIT_MS + 5_000) / 1000} s of SIGTERM`);
      assert.equal(exit.code, 0, 'exit code after SIGTERM');
      assert.ok(ms < SHUTDOWN_LIMIT_MS, `exit ${ms.toFixed(0)} ms after SIGTERM (< ${SHUTDOWN_LIMIT_MS} ms)`);
      assert.ok(
        exporter.logs.some((l) => l.msg === 'logged out of vCenter'),
        'the log has "logged out of vCenter"',
      );
      assert.notEqual(outcome, 'pending', 'the pending scrape got an answer or a closed connection');
      assert.equal(sessions, 0, 'sessions of the user after the shutdown');
    } finally {
      await exporter?.stop();
      // vcsim's shutdown waits for its handler still sleeping in the delayed QueryPerf (up to 8 s,
      // then the harness's 5 s grace); it has nothing to save, so end it at once.
      if (procAlive(vc.pid)) process.kill(vc.pid, 'SIGKILL');
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
