/**
 * Smoke test of the benchmark (bench/run.ts): the smallest size with one measured scrape, checking
 * that every figure is there and sane; a tiny inventory at a small per-call latency (with and
 * without jitter), checking that vcsim delays every call and that the floor is the fewest calls
 * at that latency; and the floor against a fake vCenter, checking how QueryPerf specs are packed
 * again and sent at the given concurrency after the WaitForUpdatesEx. Not a performance test:
 * figures are not judged, only lower bounds that the simulated latency itself guarantees.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { optionsFromEnv, runBenchmark, type BenchResult } from '../../bench/run.js';
import { startCountingProxy, type CountingProxy } from '../../bench/counting-proxy.js';
import { measureFloor } from '../../bench/floor.js';
import { formatReport } from '../../bench/report.js';
import { runGovmomi } from '../../bench/govmomi.js';
import { repoRoot } from '../harness/procs.js';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';

void describe('npm run bench, smallest size (BENCH_SIZES=1000 BENCH_SCRAPES=1)', () => {
  let dir: string;
  let result: BenchResult;
  let file: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-bench-smoke-'));
    const opts = optionsFromEnv({
      BENCH_SIZES: '1000',
      BENCH_SCRAPES: '1',
      BENCH_RESULTS_DIR: dir,
      BENCH_GOVMOMI: '0',
    });
    ({ result, file } = await runBenchmark({ ...opts, log: () => undefined }));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  void test('writes the result to BENCH_RESULTS_DIR with machine info', () => {
    assert.ok(file.startsWith(dir) && existsSync(file), file);
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
    assert.equal(onDisk.sizes.length, 1);
    assert.equal(onDisk.error, undefined);
    assert.ok(onDisk.machine.cores > 0 && onDisk.machine.node.startsWith('v'));
    assert.match(onDisk.machine.commit, /^[0-9a-f]{4,}$|^unknown$/);
    assert.equal(onDisk.linearGrowth, null);
  });

  void test('every figure is present and sane', () => {
    const r = result.sizes[0]!;
    assert.equal(r.vms, 1000);
    assert.equal(r.hosts, 20);
    assert.equal(r.failedScrapes, 0, r.problems.join('; '));
    assert.ok(r.wallMs.median > 0 && r.wallMs.p95 >= r.wallMs.median);
    assert.ok(r.cpu.exporterSecondsPerScrape > 0 && Number.isFinite(r.cpu.usPerSample));
    assert.ok(r.rss.peakMiB > 0 && r.rss.steadyMiB > 0);
    assert.ok(r.served.samples > 1000 && r.served.plainBytes > 0);
    assert.ok(r.served.gzipBytes !== null && r.served.gzipBytes < r.served.plainBytes);
    assert.ok((r.soap.requestsPerScrape.QueryPerf ?? 0) > 0, JSON.stringify(r.soap.requestsPerScrape));
    assert.ok((r.soap.responseBytesPerScrape.QueryPerf ?? 0) > 0);
    assert.ok(r.soap.totalRequestsPerScrape >= 2);
    assert.ok(r.soap.fullInventoryRetrievalsPerScrape >= 0);
  });

  void test('calls per scrape by method, their durations and concurrency are recorded', () => {
    const r = result.sizes[0]!;
    assert.deepEqual(r.latency, { ms: 0, jitter: 0 });
    assert.equal(r.soap.requestsEachScrape.length, 1);
    assert.deepEqual(r.soap.requestsEachScrape[0], r.soap.requestsPerScrape);
    for (const [m, n] of Object.entries(r.soap.requestsPerScrape)) {
      const t = r.soap.callMs[m];
      assert.ok(t && t.count === n && t.minMs <= t.medianMs && t.medianMs <= t.maxMs, m);
    }
    assert.ok(r.soap.peakInFlight.QueryPerf >= 1 && r.soap.peakInFlight.all >= r.soap.peakInFlight.QueryPerf);
  });

  void test("the floor is one WaitForUpdatesEx and the QueryPerf batches, at the exporter's concurrency", () => {
    const r = result.sizes[0]!;
    const f = r.floor;
    assert.ok(f.medianMs > 0 && f.runsMs.length === 3);
    // Through the proxy, each floor run beside a scrape of its own; the ratio is their median.
    const { exporterMs, floorMs, ratios } = f.pairs;
    assert.equal(floorMs.length, 3);
    assert.equal(exporterMs.length, 3);
    assert.ok(exporterMs.every((ms) => ms > 0) && floorMs.every((ms) => ms > 0));
    assert.deepEqual(
      ratios,
      exporterMs.map((ms, i) => ms / floorMs[i]!),
    );
    assert.equal(r.ratioToFloor, [...ratios].sort((a, b) => a - b)[1]);
    assert.equal(f.viaProxyMedianMs, [...floorMs].sort((a, b) => a - b)[1]);
    assert.equal(f.statusMismatches, 0);
    assert.equal(f.waitForUpdates, 1);
    assert.equal(f.requests, 1 + f.queryPerfBatches);
    assert.equal(f.capturedQueryPerf, r.soap.requestsPerScrape.QueryPerf);
    // 1,000 VMs and 20 hosts: at most 1,020 realtime objects, 256 per call.
    assert.ok(f.realtimeObjects > 0 && f.realtimeObjects <= r.vms + r.hosts, String(f.realtimeObjects));
    assert.ok(f.queryPerfBatches >= Math.ceil(f.realtimeObjects / 256));
    assert.equal(f.concurrency, r.soap.peakInFlight.QueryPerf);
    const leftOut = Object.values(f.leftOut).reduce((a, b) => a + b, 0);
    assert.equal(f.capturedQueryPerf + f.waitForUpdates + leftOut, r.soap.totalRequestsPerScrape);
  });
});

void describe('npm run bench with a latency (BENCH_SIZES=20 BENCH_LATENCY_MS=40)', () => {
  const LATENCY = 40;
  const run = async (env: Record<string, string>): Promise<BenchResult> => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-bench-latency-'));
    try {
      const opts = optionsFromEnv({
        BENCH_SIZES: '20',
        BENCH_LATENCY_MS: String(LATENCY),
        BENCH_SCRAPES: '2',
        BENCH_WARMUP: '1',
        BENCH_FLOOR_RUNS: '1',
        BENCH_RESULTS_DIR: dir,
        BENCH_GOVMOMI: '0',
        ...env,
      });
      return (await runBenchmark({ ...opts, log: () => undefined })).result;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  let steady: BenchResult;
  let jittered: BenchResult;
  before(async () => {
    steady = await run({});
    // More scrapes: enough calls for the check below even when a scrape needs only two.
    jittered = await run({ BENCH_JITTER: '0.5', BENCH_SCRAPES: '12' });
  });

  void test('vcsim delays every call the exporter makes by the latency', () => {
    const r = steady.sizes[0]!;
    assert.deepEqual(r.latency, { ms: LATENCY, jitter: 0 });
    assert.deepEqual(r.vcsimArgs.slice(-2), ['-delay', String(LATENCY)]);
    assert.equal(r.failedScrapes, 0, r.problems.join('; '));
    assert.equal(r.soap.requestsPerScrape.WaitForUpdatesEx, 1);
    assert.ok((r.soap.requestsPerScrape.QueryPerf ?? 0) >= 1);
    assert.equal(r.soap.requestsEachScrape.length, 2);
    // Measured at the proxy, before vcsim's sleep and after its answer: never shorter than the delay.
    for (const [m, t] of Object.entries(r.soap.callMs))
      assert.ok(t.minMs >= LATENCY - 1, `${m}: ${t.minMs} ms`);
    assert.ok(r.wallMs.min >= LATENCY, String(r.wallMs.min));
  });

  void test('the floor is the fewest calls at the same latency', () => {
    const r = steady.sizes[0]!;
    const f = r.floor;
    assert.equal(f.statusMismatches, 0);
    assert.equal(f.waitForUpdates, 1);
    // 20 VMs and 1 host fit in one batch, whatever number of QueryPerf the exporter sent.
    assert.equal(f.queryPerfBatches, 1);
    assert.equal(f.requests, 2);
    assert.ok(f.realtimeObjects >= 20, String(f.realtimeObjects));
    // WaitForUpdatesEx, then the batch: two delays one after the other.
    assert.ok(f.medianMs >= 2 * LATENCY, String(f.medianMs));
    const report = formatReport(steady.sizes, null);
    assert.match(report, /SOAP calls per steady-state scrape, by method:/);
    assert.match(report, new RegExp(`\\|\\s+20 \\|\\s+${LATENCY} \\|\\s+1 \\|`));
  });

  void test('BENCH_JITTER passes -delay-jitter: some calls are shorter than the delay', () => {
    const r = jittered.sizes[0]!;
    assert.deepEqual(r.latency, { ms: LATENCY, jitter: 0.5 });
    assert.deepEqual(r.vcsimArgs.slice(-4), ['-delay', String(LATENCY), '-delay-jitter', '0.5']);
    assert.equal(r.failedScrapes, 0, r.problems.join('; '));
    // Load only lengthens a call; a call shorter than the delay is jitter. Each call is below
    // 0.95 × the delay with probability 0.46 (N(0,1) < -0.1): with 12 scrapes of at least two
    // calls, the chance that none is, is below 1e-6.
    const calls = Object.values(r.soap.callMs);
    assert.ok(calls.reduce((n, t) => n + t.count, 0) >= 24);
    const shortest = Math.min(...calls.map((t) => t.minMs));
    assert.ok(shortest < 0.95 * LATENCY, `${shortest} ms`);
  });
});
/** Builds the govmomi program; the reason it could not be built, or undefined. */
async function buildGovmomiBench(): Promise<string | undefined> {
  try {
    await promisify(execFile)('bash', [join(repoRoot, 'scripts', 'build-govmomi-bench.sh')], {
      cwd: repoRoot,
    });
    return undefined;
  } catch (err) {
    return `govmomi comparison not built (Go toolchain or Debian's govmomi source missing?): ${String(err).slice(0, 300)}`;
  }
}

void describe('the govmomi comparison (BENCH_GOVMOMI=1, Telegraf-style collection)', () => {
  const LATENCY = 40;
  let skip: string | undefined;
  let result: BenchResult;
  before(async () => {
    skip = await buildGovmomiBench();
    if (skip) return console.error(`NOTICE: ${skip}; skipping`);
    const dir = mkdtempSync(join(tmpdir(), 'vsx-bench-govmomi-'));
    try {
      const opts = optionsFromEnv({
        BENCH_SIZES: '20',
        BENCH_LATENCY_MS: String(LATENCY),
        BENCH_SCRAPES: '1',
        BENCH_WARMUP: '1',
        BENCH_FLOOR_RUNS: '1',
        BENCH_RESULTS_DIR: dir,
        BENCH_GOVMOMI: '1',
        BENCH_GOVMOMI_COLLECTIONS: '2',
      });
      result = (await runBenchmark({ ...opts, log: () => undefined })).result;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('runs on the same vcsim after the exporter: its calls counted per phase at the proxy', (t) => {
    if (skip) return t.skip(skip);
    const r = result.sizes[0]!;
    const g = r.govmomi!;
    assert.ok(g, 'govmomi result');
    assert.deepEqual(
      g.phases.map((p) => p.phase),
      ['login', 'discover', 'collect1', 'collect2', 'logout'],
    );
    // 20 VMs and 1 host, each asked for sample.conf's counters that vcsim knows.
    assert.equal(g.objects, 21);
    assert.ok(g.metricsPerObject > 10, String(g.metricsPerObject));
    assert.deepEqual(g.phases[0]!.calls, {
      Login: 1,
      QueryOptions: 1,
      RetrieveServiceContent: 1,
      CreateContainerView: 1,
    });
    assert.deepEqual(g.phases.at(-1)!.calls, { Logout: 1 });
    // A steady collection: one QueryPerf per kind (21 objects × their counters < 50,000 metric
    // ids), each Telegraf getClient preceded by a GetCurrentTime.
    assert.equal(g.collect.calls.QueryPerf, 2);
    assert.deepEqual(Object.keys(g.collect.calls), ['CurrentTime', 'QueryPerf']);
    assert.equal(g.collect.totalCalls, g.collect.calls.QueryPerf + g.collect.calls.CurrentTime!);
    assert.equal(g.cycle.calls.Login, 1);
    assert.ok((g.cycle.calls.CreateContainerView ?? 0) >= 4 && (g.cycle.calls.RetrieveProperties ?? 0) >= 2);
    assert.ok(g.collect.samples > 20, String(g.collect.samples));
    // getClient, GetCurrentTime, getClient, QueryPerf: at least four delays one after the other.
    assert.ok(g.collect.wallMs >= 4 * LATENCY, String(g.collect.wallMs));
    assert.ok(g.cycle.wallMs > g.phases[2]!.wallMs && g.peakRssMiB > 0);
    assert.ok(Number.isFinite(r.ratioToGovmomi) && r.ratioToGovmomi > 0);
    const report = formatReport(result.sizes, null);
    assert.match(report, /govmomi \(Telegraf-style collection/);
    assert.match(report, /ratioToGovmomi (met|MISSED)/);
    assert.deepEqual(result.options.govmomi, {
      collections: 2,
      objectsPerQuery: 0,
      metrics: 'sample',
      concurrency: 1,
      timeoutMs: 600_000,
    });
  });

  void test('BENCH_GOVMOMI_OBJECTS bounds the realtime objects per QueryPerf', async (t) => {
    if (skip) return t.skip(skip);
    let vc: Vcsim | undefined;
    try {
      vc = await startVcsim({ args: ['-cluster', '1', '-host', '1', '-vm', '20', '-standalone-host', '0'] });
      const g = await runGovmomi(vc.url, vc, {
        collections: 1,
        objectsPerQuery: 8,
        metrics: 'sample',
        concurrency: 1,
        timeoutMs: 60_000,
      });
      // 20 VMs at 8 per call and 1 host.
      assert.equal(g.collect.calls.QueryPerf, 4);
      assert.equal(g.phases.find((p) => p.phase === 'collect1')!.queries, 4);
    } finally {
      await vc?.stop();
    }
  });

  void test('BENCH_GOVMOMI is checked', () => {
    assert.throws(() => optionsFromEnv({ BENCH_GOVMOMI: 'yes' }), /BENCH_GOVMOMI must be 0 or 1/);
    assert.equal(optionsFromEnv({ BENCH_GOVMOMI: '0' }).govmomi, undefined);
    if (!skip)
      assert.throws(
        () => optionsFromEnv({ BENCH_GOVMOMI: '1', BENCH_GOVMOMI_METRICS: 'some' }),
        /BENCH_GOVMOMI_METRICS must be sample or all/,
      );
  });
});

/**
 * A fake vCenter answering every call after DELAY_MS: it records, per QueryPerf, each entity's
 * metric ids, the most QueryPerf in flight at once, and the order of methods; only cookie "abc" is let in.
 */
function fakeVcenter(delayMs: number) {
  const seen = { methods: [] as string[], perf: [] as Map<string, string[]>[], inFlight: 0, peak: 0 };
  const env = (m: string, inner: string) =>
    `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><${m}Response xmlns="urn:vim25">${inner}</${m}Response></soapenv:Body></soapenv:Envelope>`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const m = /<soapenv:Body><(\w+)/.exec(body)?.[1] ?? '?';
      seen.methods.push(m);
      if (m === 'QueryPerf') {
        const specs = new Map<string, string[]>();
        for (const [, inner] of body.matchAll(/<querySpec>([\s\S]*?)<\/querySpec>/g)) {
          const entity = /<entity type="\w+">([^<]+)</.exec(inner!)![1]!;
          const ids = [
            ...inner!.matchAll(
              /<counterId>(\d+)<\/counterId>(?:<instance>([^<]*)<\/instance>|<instance\/>)/g,
            ),
          ].map(([, c, i]) => `${c}/${i ?? ''}`);
          specs.set(entity, [...(specs.get(entity) ?? []), ...ids]);
        }
        seen.perf.push(specs);
        seen.peak = Math.max(seen.peak, ++seen.inFlight);
      }
      setTimeout(() => {
        if (m === 'QueryPerf') seen.inFlight--;
        res.setHeader('content-type', 'text/xml');
        if (req.headers.cookie !== 'vmware_soap_session=abc') return res.writeHead(500).end(env(m, 'fault'));
        res.end(env(m, m === 'CreateContainerView' ? '<returnval type="ContainerView">v1</returnval>' : ''));
      }, delayMs);
    });
  });
  return { server, seen };
}

/** A QueryPerf body as the exporter writes it, one spec per [entity, counter ids, instance]. */
function queryPerf(specs: [string, number[], string, number][]): string {
  return specs
    .map(
      ([vm, ids, instance, interval]) =>
        `<querySpec><entity type="VirtualMachine">${vm}</entity><maxSample>1</maxSample>` +
        ids
          .map((id) => `<metricId><counterId>${id}</counterId><instance>${instance}</instance></metricId>`)
          .join('') +
        `<intervalId>${interval}</intervalId></querySpec>`,
    )
    .join('');
}

void describe('floor (fake vCenter with a 100 ms delay)', () => {
  const DELAY = 100;
  let fake: ReturnType<typeof fakeVcenter>;
  let url: string;
  let proxy: CountingProxy;
  before(async () => {
    fake = fakeVcenter(DELAY);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(fake.server.address() as { port: number }).port}/sdk`;
    proxy = await startCountingProxy(url);
  });
  after(async () => {
    await proxy?.close();
    fake?.server.close();
  });

  void test('sends WaitForUpdatesEx, then the QueryPerf specs packed by object count over N connections', async () => {
    const client = new Client(new URL(proxy.url).origin);
    const call = async (m: string, inner: string) => {
      const r = await client.request({
        path: '/sdk',
        method: 'POST',
        headers: { cookie: 'vmware_soap_session=abc', 'content-type': 'text/xml; charset=utf-8' },
        body: `<soapenv:Body><${m} xmlns="urn:vim25"><_this type="X">x</_this>${inner}</${m}></soapenv:Body>`,
      });
      await r.body.text();
      return r.statusCode;
    };
    // 600 VMs × 3 counters (ids 1, 2 aggregate; 3 per instance), sent as the exporter does: in
    // chunks of at most 256 metric ids that split some VMs' lists; one VM's counter listed twice.
    const vms = Array.from({ length: 600 }, (_, i) => `vm-${i + 1}`);
    const flat = vms.flatMap((vm) => [1, 2, 3].map((id) => [vm, id] as const));
    const chunks: [string, number[], string, number][][] = [];
    for (let i = 0; i < flat.length; i += 256)
      chunks.push(flat.slice(i, i + 256).map(([vm, id]) => [vm, [id], id === 3 ? '*' : '', 20]));
    chunks[0]!.push(['vm-1', [1], '', 20]);
    proxy.setCapture(true);
    assert.equal(await call('CreateContainerView', '<x/>'), 200);
    assert.equal(await call('RetrievePropertiesEx', '<specSet/>'), 200);
    assert.equal(
      await call(
        'WaitForUpdatesEx',
        '<version>7</version><options><maxWaitSeconds>0</maxWaitSeconds></options>',
      ),
      200,
    );
    for (const c of chunks) assert.equal(await call('QueryPerf', queryPerf(c)), 200);
    // Historical: 3 entities × 100 counters at interval 300, more than one call's 256 metric ids.
    const ids = Array.from({ length: 100 }, (_, i) => 100 + i);
    assert.equal(
      await call('QueryPerf', queryPerf(['ds-1', 'ds-2', 'ds-3'].map((e) => [e, ids, '', 300]))),
      200,
    );
    assert.equal(await call('WaitForUpdatesEx', '<version>8</version>'), 200); // a long poll
    assert.equal(await call('DestroyView', '<x/>'), 200);
    assert.equal(await call('Logout', ''), 200);
    proxy.setCapture(false);
    await client.close();
    const capture = proxy.drain().flatMap((r) => (r.capture ? [r.capture] : []));
    assert.equal(capture.length, 4 + chunks.length + 3);

    for (const target of [url, proxy.url]) {
      fake.seen.methods = [];
      fake.seen.perf = [];
      fake.seen.peak = 0;
      const batching = { objectsPerCall: 256, maxQueryMetrics: 256 };
      const f = await measureFloor(target, capture, 1, { concurrency: 2, batching });
      assert.equal(f.statusMismatches, 0);
      assert.equal(f.waitForUpdates, 1);
      assert.equal(f.capturedQueryPerf, chunks.length + 1);
      assert.equal(f.realtimeObjects, 600);
      assert.equal(f.historicalObjects, 3);
      // 600 objects at 256 per call: 3; 300 historical metric ids at 256 per call: 2.
      assert.equal(f.queryPerfBatches, 5);
      assert.equal(f.requests, 6);
      assert.deepEqual(f.leftOut, {
        CreateContainerView: 1,
        RetrievePropertiesEx: 1,
        WaitForUpdatesEx: 1,
        DestroyView: 1,
        Logout: 1,
      });
      assert.deepEqual(fake.seen.methods, ['WaitForUpdatesEx', ...Array<string>(5).fill('QueryPerf')]);
      assert.equal(fake.seen.peak, 2, 'two QueryPerf in flight at once, never more');
      // One round for WaitForUpdatesEx, then 5 batches over 2 connections: 3 rounds.
      assert.ok(f.medianMs >= 4 * DELAY, String(f.medianMs));
      const realtime = fake.seen.perf.filter((p) => !p.has('ds-1') && !p.has('ds-2') && !p.has('ds-3'));
      assert.deepEqual(
        realtime.map((p) => p.size).sort((a, b) => a - b),
        [88, 256, 256],
      );
      const merged = new Map(realtime.flatMap((p) => [...p]));
      assert.equal(merged.size, 600);
      for (const [vm, got] of merged) assert.deepEqual(got, ['1/', '2/', '3/*'], vm);
      const historical = fake.seen.perf.filter((p) => !realtime.includes(p));
      const counts = historical.map((p) => [...p.values()].reduce((n, l) => n + l.length, 0));
      assert.deepEqual(
        counts.sort((a, b) => a - b),
        [44, 256],
      );
    }
  });
});
