/**
 * "Never dies, never leaks, never hangs" — the exporter's own HTTP side: concurrent scrapes share one
 * collection, the in-flight cap answers 503 at once, slow or oversized clients are cut off, and the
 * password never leaves the process in any form. vCenter is vcsim behind the fault proxy. The
 * vCenter-side half (deadlines, malformed and hostile answers) is in reliability-hostile.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startVcsim, listSessions, terminateSession, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { procAlive } from '../harness/procs.js';
import { exporterEnv } from '../harness/env.js';

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined => {
  const hits = find(samples, name, labels);
  assert.ok(hits.length <= 1, `more than one ${name} series for ${JSON.stringify(labels)}`);
  return hits[0]?.value;
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** From sending the request to the end of the answer. */
  ms: number;
}

/** One request on its own connection (no keep-alive), timed; `headers` may override anything. */
function get(
  baseUrl: string,
  path = '/metrics',
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest(`${baseUrl}${path}`, {
      method: opts.method ?? 'GET',
      agent: false,
      headers: opts.headers,
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - t0,
        }),
      );
    });
    req.end();
  });
}

/**
 * The text minus what is made per answer, not per collection: prom-client's per-process families
 * (process_*, nodejs_*) and the served collection's age (milliseconds apart between answers).
 */
const withoutProcessMetrics = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !/^(# (HELP|TYPE) )?(process_|nodejs_|vsphere_collection_age_seconds)/.test(l))
    .join('\n');

/** A vcsim (with `vcsimArgs`), the fault proxy in front of it and a directory for files. */
async function startBackend(opts: { vcsimArgs?: string[]; password?: string } = {}): Promise<{
  vc: Vcsim;
  proxy: FaultProxy;
  dir: string;
  env: Record<string, string>;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'vsx-http-'));
  const vc = await startVcsim({
    args: opts.vcsimArgs ?? [],
    ...(opts.password ? { password: opts.password } : {}),
  });
  const proxy = await startFaultProxy(vc.url);
  return {
    vc,
    proxy,
    dir,
    env: { ...exporterEnv(vc, dir), VSPHERE_URL: proxy.url },
    async close() {
      await proxy.close();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function configArg(dir: string, name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return `--config.file=${file}`;
}

describe('reliability: load (vcsim QueryPerf takes 2 s)', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let shared: ExporterProcess;
  let capped: ExporterProcess;

  before(async () => {
    backend = await startBackend({ vcsimArgs: ['-method-delay', 'QueryPerf:2000'] });
    [shared, capped] = await Promise.all([
      startExporter({ env: backend.env }),
      startExporter({
        env: backend.env,
        args: [configArg(backend.dir, 'capped.yml', 'web:\n  max_requests: 4\n')],
      }),
    ]);
    // First collections (they also read the counter catalogue), and warm code paths for the timings.
    for (const a of await Promise.all([get(shared.baseUrl), get(capped.baseUrl)]))
      assert.equal(a.status, 200);
  });
  after(async () => {
    await Promise.all([shared?.stop(), capped?.stop()]);
    await backend?.close();
  });

  test('20 simultaneous scrapes share one collection: one collection of vCenter requests, 20 identical answers', async (t) => {
    const { proxy } = backend;
    // The first collection (in before()) also read the counter catalogue; this is what every later one sends.
    proxy.resetCounts();
    const one = await get(shared.baseUrl);
    assert.equal(one.status, 200);
    const perCollection = proxy.counts();
    // One inventory read per collection (WaitForUpdatesEx of the default incremental inventory).
    assert.equal(perCollection.WaitForUpdatesEx, 1, JSON.stringify(perCollection));
    assert.ok((perCollection.QueryPerf ?? 0) >= 2, JSON.stringify(perCollection));

    proxy.resetCounts();
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(shared.baseUrl)));
    const wall = performance.now() - t0;
    assert.deepEqual(proxy.counts(), perCollection);
    const bodies = answers.map((a) => {
      assert.equal(a.status, 200);
      return withoutProcessMetrics(a.body);
    });
    assert.equal(new Set(bodies).size, 1, 'the vsphere_* part of all 20 answers is identical');
    const samples = parsePrometheusText(answers[0]!.body).samples;
    assert.deepEqual(
      [
        value(samples, 'vsphere_up'),
        value(samples, 'vsphere_collector_success', { collector: 'vm' }),
        value(samples, 'vsphere_collector_success', { collector: 'host' }),
      ],
      [1, 1, 1],
    );
    t.diagnostic(
      `one collection = ${JSON.stringify(perCollection)}; 20 simultaneous scrapes sent exactly that, ` +
        `answered in ${wall.toFixed(0)} ms (slowest ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms), 1 distinct body`,
    );
  });

  test('web.max_requests 4: of 10 simultaneous scrapes 4 get 200 and 6 get 503 at once', async (t) => {
    // Connect first, then send the 10 requests together: the time measured is the exporter's answer,
    // not 10 TCP handshakes.
    const port = Number(new URL(capped.baseUrl).port);
    const sockets = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const s = connect(port, '127.0.0.1', () => resolve(s));
            s.once('error', reject);
          }),
      ),
    );
    const t0 = performance.now();
    const answers = await Promise.all(
      sockets.map(
        (s) =>
          new Promise<{ status: number; text: string; ms: number }>((resolve) => {
            let text = '';
            s.setEncoding('utf8').on('data', (d: string) => (text += d));
            s.once('close', () =>
              resolve({
                status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]),
                text,
                ms: performance.now() - t0,
              }),
            );
            s.write('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
          }),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 503);
    assert.equal(ok.length, 4, answers.map((a) => a.status).join(' '));
    assert.equal(refused.length, 6);
    // Refused at once, not queued for a slot: every 503 comes before the first 200 (QueryPerf takes
    // 2 s), with a margin a busy machine cannot break.
    for (const r of refused) {
      assert.ok(r.ms < 1000, `503 after ${r.ms.toFixed(1)} ms`);
      assert.match(r.text, /\r\nRetry-After: 1\r\n/i);
    }
    for (const a of ok) assert.ok(a.ms > 1500, `200 after ${a.ms.toFixed(0)} ms (QueryPerf takes 2 s)`);
    // The slots are free again afterwards.
    assert.equal((await get(capped.baseUrl)).status, 200);
    const ms = (xs: { ms: number }[]): string => xs.map((a) => a.ms.toFixed(1)).join(', ');
    t.diagnostic(`503 answers after [${ms(refused)}] ms; 200 answers after [${ms(ok)}] ms`);
  });
});

describe("reliability: the exporter's own HTTP server", () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let exporter: ExporterProcess;

  before(async () => {
    backend = await startBackend();
    exporter = await startExporter({ env: backend.env });
  });
  after(async () => {
    await exporter?.stop();
    await backend?.close();
  });

  test('20 slow-header clients are cut off by the 10 s headers timeout; scrapes keep working meanwhile', async (t) => {
    assert.equal((await get(exporter.baseUrl)).status, 200);
    await sleep(100);
    const fdsBefore = exporter.openFds();
    const port = Number(new URL(exporter.baseUrl).port);
    const t0 = performance.now();
    const clients = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<{ socket: Socket; closed: Promise<{ ms: number; received: string }> }>(
            (resolve, reject) => {
              const socket = connect(port, '127.0.0.1', () => {
                socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
                resolve({ socket, closed });
              });
              let received = '';
              socket.setEncoding('utf8').on('data', (d: string) => (received += d));
              socket.once('error', reject);
              const closed = new Promise<{ ms: number; received: string }>((done) =>
                socket.once('close', () => done({ ms: performance.now() - t0, received })),
              );
            },
          ),
      ),
    );
    await sleep(200);
    const fdsDuring = exporter.openFds();
    let allClosed = false;
    const closes = Promise.all(clients.map((c) => c.closed)).then((r) => {
      allClosed = true;
      return r;
    });
    // Normal scrapes while the 20 hang on.
    const scrapes: Answer[] = [];
    while (!allClosed && performance.now() - t0 < 15_000) {
      const a = await get(exporter.baseUrl);
      assert.equal(a.status, 200);
      assert.equal(value(parsePrometheusText(a.body).samples, 'vsphere_up'), 1);
      scrapes.push(a);
      await Promise.race([sleep(500), closes]);
    }
    for (const c of clients) c.socket.destroy(); // in case the server did not close them
    const closed = await closes;
    const times = closed.map((c) => c.ms);
    const last = Math.max(...times);
    const first = Math.min(...times);
    assert.ok(
      first > 9000,
      `first slow client closed after ${first.toFixed(0)} ms, before the headers timeout`,
    );
    assert.ok(last < 12_500, `last slow client closed after ${last.toFixed(0)} ms`);
    assert.ok(
      closed.every((c) => c.received === '' || c.received.startsWith('HTTP/1.1 408')),
      JSON.stringify(closed.map((c) => c.received.slice(0, 40))),
    );
    assert.ok(scrapes.length >= 10, `${scrapes.length} scrapes during the wait`);
    await sleep(200);
    const fdsAfter = exporter.openFds();
    assert.ok(fdsDuring >= fdsBefore + 20, `fds ${fdsBefore} → ${fdsDuring} with 20 clients`);
    assert.ok(Math.abs(fdsAfter - fdsBefore) <= 2, `fds ${fdsBefore} → ${fdsDuring} → ${fdsAfter}`);
    assert.ok(procAlive(exporter.pid));
    t.diagnostic(
      `slow clients closed by the server after ${(first / 1000).toFixed(1)}–${(last / 1000).toFixed(1)} s ` +
        `(${closed[0]?.received.split('\r\n')[0] || 'no answer'}); ${scrapes.length} scrapes meanwhile, all 200 ` +
        `(slowest ${Math.max(...scrapes.map((s) => s.ms)).toFixed(0)} ms); fds ${fdsBefore} → ${fdsDuring} → ${fdsAfter}`,
    );
  });

  test('a 20 KiB header gets 431; /debug/pprof, /debug/vars, /admin are 404', async (t) => {
    const port = Number(new URL(exporter.baseUrl).port);
    const statusLine = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
      });
      let received = '';
      socket.setEncoding('utf8').on('data', (d: string) => (received += d));
      socket.once('error', reject);
      socket.once('close', () => resolve(received.split('\r\n')[0] ?? ''));
      socket.setTimeout(5000, () => socket.destroy());
    });
    assert.match(statusLine, /^HTTP\/1\.1 431 /);
    for (const path of ['/debug/pprof', '/debug/pprof/', '/debug/pprof/heap', '/debug/vars', '/admin']) {
      const a = await get(exporter.baseUrl, path);
      assert.equal(a.status, 404, path);
      assert.equal(a.body, '404 page not found\n');
    }
    assert.equal((await get(exporter.baseUrl)).status, 200);
    t.diagnostic(`oversized header: "${statusLine}"`);
  });
});

const USER = 'exporter';
const PASSWORD = `p a"s's <&> %41 ü`;
const WRONG_PASSWORD = `w r"o'n g <&> %42 ß`;

/** Every form a password could leak in: plain, URL-, XML-, JSON-encoded, base64 (at any alignment). */
function leakForms(pw: string): Record<string, string> {
  const xml = (s: string, chars: RegExp): string =>
    s.replace(
      chars,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
    );
  const json = JSON.stringify(pw).slice(1, -1);
  const forms: Record<string, string> = {
    plain: pw,
    encodeURIComponent: encodeURIComponent(pw),
    formEncoded: new URLSearchParams({ p: pw }).toString().slice(2),
    xmlEscaped: xml(pw, /[&<>"']/g),
    xmlEscapedMinimal: xml(pw, /[&<>]/g),
    jsonEscaped: json,
    jsonEscapedAscii: json.replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ),
    basicAuth: Buffer.from(`${USER}:${pw}`).toString('base64'),
  };
  // Inside a longer base64 text the password's encoding depends on its offset modulo 3: take the
  // part of each of the three encodings that does not depend on the neighbouring bytes.
  for (const pad of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(pad), Buffer.from(pw)]).toString('base64');
    forms[`base64@${pad}`] = b64.slice(pad === 0 ? 0 : 4, -4);
    forms[`base64url@${pad}`] = Buffer.concat([Buffer.alloc(pad), Buffer.from(pw)])
      .toString('base64url')
      .slice(pad === 0 ? 0 : 4, -4);
  }
  return forms;
}

/** Strings of a parsed JSON log entry, decoded (so an escaped form in the raw line shows as plain). */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

describe('reliability: the password never leaves the process', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;

  before(async () => {
    backend = await startBackend({ password: PASSWORD });
  });
  after(async () => {
    await backend?.close();
  });

  test('not in logs (debug) or any HTTP answer: good scrapes, a wrong password, faults, shutdown', async (t) => {
    const { vc, proxy, env } = backend;
    assert.equal(vc.password, PASSWORD);
    const exporter = await startExporter({ env, args: ['--log.level=debug'] });
    const answers: { what: string; text: string }[] = [];
    const record = async (what: string, path = '/metrics', method = 'GET'): Promise<Answer> => {
      const a = await get(exporter.baseUrl, path, { method });
      answers.push({ what, text: `${a.status}\n${JSON.stringify(a.headers)}\n${a.body}` });
      return a;
    };
    const up = (a: Answer): number | undefined => value(parsePrometheusText(a.body).samples, 'vsphere_up');
    const errorCode = (a: Answer): string | undefined =>
      find(parsePrometheusText(a.body).samples, 'vsphere_last_error_info')[0]?.labels.code;
    try {
      // Good scrapes and every other page.
      for (let i = 0; i < 3; i++) assert.equal(up(await record('good scrape')), 1);
      for (const path of [
        '/',
        '/-/ready',
        '/-/healthy',
        '/nope',
        '/debug/pprof',
        `/${encodeURIComponent(PASSWORD)}`,
      ])
        await record(`GET ${path}`, path);
      await record('POST /metrics', '/metrics', 'POST');
      await record('HEAD /metrics', '/metrics', 'HEAD');

      // Wrong password: the file now holds another one, and vCenter ends the session.
      writeFileSync(env.VSPHERE_PASSWORD_FILE!, `${WRONG_PASSWORD}\n`);
      const [session] = (await listSessions(vc)).filter((s) => s.userName === USER);
      assert.ok(session, 'the exporter has a session');
      await terminateSession(vc, session.key);
      const refused = await record('scrape with the wrong password');
      assert.equal(up(refused), 0);
      assert.equal(errorCode(refused), 'VSPHERE_INVALID_LOGIN');
      assert.equal(up(await record('scrape during the login backoff')), 0);
      await record('/-/ready after the refused login', '/-/ready');

      // Faults on Login (with the right password back) and on a collector call.
      writeFileSync(env.VSPHERE_PASSWORD_FILE!, `${PASSWORD}\n`);
      const loginFaults = ['html-503', 'unknown-fault', 'reset-headers', 'non-xml-200'] as const;
      for (const fault of loginFaults) proxy.addRule({ method: 'Login', fault, times: 1 });
      proxy.addRule({ method: 'QueryPerf', fault: 'unknown-fault', times: 1 });
      const codes: (string | undefined)[] = [];
      for (const _ of loginFaults) {
        const a = await record('scrape with a faulted Login');
        assert.equal(up(a), 0);
        codes.push(errorCode(a));
      }
      const back = await record('scrape after the faults');
      assert.equal(up(back), 1);
      proxy.clearRules();
      assert.equal(up(await record('good scrape at the end')), 1);

      exporter.signal('SIGTERM');
      assert.equal((await exporter.exited).code, 0);
      assert.ok(exporter.logs.some((l) => l.msg === 'logged out of vCenter'));

      // The search itself finds each form where it would appear.
      const probe = [
        PASSWORD,
        JSON.stringify({ PASSWORD }),
        `<password>${leakForms(PASSWORD).xmlEscaped}</password>`,
        `?p=${encodeURIComponent(PASSWORD)}`,
        Buffer.from(`x${PASSWORD}yz`).toString('base64'),
      ].join('\n');
      for (const form of ['plain', 'jsonEscaped', 'xmlEscaped', 'encodeURIComponent', 'base64@1'])
        assert.ok(probe.includes(leakForms(PASSWORD)[form]!), form);

      const logText = exporter.logs.map((l) => `${JSON.stringify(l)}\n${strings(l).join('\n')}`).join('\n');
      let checked = 0;
      for (const [which, pw] of [
        ['password', PASSWORD],
        ['wrong password', WRONG_PASSWORD],
      ] as const) {
        for (const [form, needle] of Object.entries(leakForms(pw))) {
          assert.ok(needle.length >= 8, `${form} of the ${which} is too short to search for`);
          assert.ok(!logText.includes(needle), `the ${which} (${form}) is in the exporter's logs`);
          for (const a of answers)
            assert.ok(!a.text.includes(needle), `the ${which} (${form}) is in ${a.what}`);
          checked++;
        }
      }
      t.diagnostic(
        `${checked} forms of 2 passwords searched in ${exporter.logs.length} log lines (debug) and ` +
          `${answers.length} HTTP answers: none found; faulted logins answered ${codes.join(', ')}`,
      );
    } finally {
      await exporter.stop();
    }
  });
});
