/**
 * Smoke test of the benchmark (bench/run.ts): the smallest size with one measured scrape, checking
 * that every figure is there and sane; and the floor replay against a fake vCenter that pages and
 * creates objects, checking that moids and paging tokens are rewritten (vcsim does neither paging
 * nor long-polls, so only a fake can prove it). Not a performance test: figures are not judged.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { optionsFromEnv, runBenchmark, type BenchResult } from '../../bench/run.js';
import { startCountingProxy, type CountingProxy } from '../../bench/counting-proxy.js';
import { measureFloor } from '../../bench/floor.js';

void describe('npm run bench, smallest size (BENCH_SIZES=1000 BENCH_SCRAPES=1)', () => {
  let dir: string;
  let result: BenchResult;
  let file: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-bench-smoke-'));
    const opts = optionsFromEnv({ BENCH_SIZES: '1000', BENCH_SCRAPES: '1', BENCH_RESULTS_DIR: dir });
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

  void test('the floor replays the captured scrape faithfully', () => {
    const r = result.sizes[0]!;
    assert.ok(r.floor.medianMs > 0 && r.floor.runsMs.length === 3);
    assert.ok(Number.isFinite(r.ratioToFloor) && r.ratioToFloor > 0);
    assert.equal(r.floor.statusMismatches, 0);
    assert.equal(
      r.floor.requests + Object.values(r.floor.skipped).reduce((a, b) => a + b, 0),
      r.soap.totalRequestsPerScrape,
    );
  });
});

/** A fake vCenter: views get new moids, reads are paged with single-use tokens, only cookie "abc" is let in. */
function fakeVcenter(): { server: Server; open: () => number } {
  let n = 0;
  const views = new Set<string>();
  const tokens = new Set<string>();
  const env = (m: string, inner: string) =>
    `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><${m}Response xmlns="urn:vim25">${inner}</${m}Response></soapenv:Body></soapenv:Envelope>`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const m = /<soapenv:Body><(\w+)/.exec(body)?.[1] ?? '?';
      const view = /type="ContainerView">([^<]+)</.exec(body)?.[1];
      const token = /<token>([^<]+)</.exec(body)?.[1];
      res.setHeader('content-type', 'text/xml');
      const ok = (inner: string) => res.end(env(m, inner));
      if (req.headers.cookie !== 'vmware_soap_session=abc') return res.writeHead(500).end(env(m, 'fault'));
      if (m === 'CreateContainerView') {
        views.add(`session[s]${++n}`);
        return ok(`<returnval type="ContainerView">session[s]${n}</returnval>`);
      }
      if (m === 'DestroyView' && view && views.delete(view)) return ok('');
      if (m === 'RetrievePropertiesEx' && view && views.has(view)) {
        tokens.add(String(++n));
        // Chunked, with the token split across two writes.
        const full = env(
          m,
          `<returnval><token>${n}</token><objects>${'x'.repeat(100_000)}</objects></returnval>`,
        );
        const cut = full.indexOf('</token>') - 1;
        res.write(full.slice(0, cut));
        setTimeout(() => res.end(full.slice(cut)), 5);
        return;
      }
      if (m === 'ContinueRetrievePropertiesEx' && token && tokens.delete(token)) {
        const more = body.includes('<more/>');
        if (more) tokens.add(String(++n));
        return ok(`<returnval>${more ? `<token>${n}</token>` : ''}<objects>y</objects></returnval>`);
      }
      if (m === 'QueryPerf') return ok('<returnval>1</returnval>');
      res.writeHead(500).end(env(m, 'fault'));
    });
  });
  return { server, open: () => views.size + tokens.size };
}

void describe('floor replay (fake vCenter with paging)', () => {
  let fake: ReturnType<typeof fakeVcenter>;
  let url: string;
  let proxy: CountingProxy;
  before(async () => {
    fake = fakeVcenter();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(fake.server.address() as { port: number }).port}/sdk`;
    proxy = await startCountingProxy(url);
  });
  after(async () => {
    await proxy?.close();
    fake?.server.close();
  });

  void test('rewrites view moids and paging tokens, skips session calls and foreign Destroy', async () => {
    const client = new Client(new URL(proxy.url).origin);
    const call = async (m: string, inner: string) => {
      const r = await client.request({
        path: '/sdk',
        method: 'POST',
        headers: { cookie: 'vmware_soap_session=abc', 'content-type': 'text/xml; charset=utf-8' },
        body: `<soapenv:Body><${m} xmlns="urn:vim25">${inner}</${m}></soapenv:Body>`,
      });
      return { status: r.statusCode, text: await r.body.text() };
    };
    proxy.setCapture(true);
    const view = /ContainerView">([^<]+)</.exec((await call('CreateContainerView', '<x/>')).text)?.[1];
    const first = await call(
      'RetrievePropertiesEx',
      `<propSet><type>VirtualMachine</type></propSet><obj type="ContainerView">${view}</obj><type>ContainerView</type>`,
    );
    const t1 = /<token>([^<]+)</.exec(first.text)?.[1];
    const second = await call('ContinueRetrievePropertiesEx', `<token>${t1}</token><more/>`);
    const t2 = /<token>([^<]+)</.exec(second.text)?.[1];
    assert.equal((await call('ContinueRetrievePropertiesEx', `<token>${t2}</token>`)).status, 200);
    await call('QueryPerf', '<maxSample>1</maxSample>');
    assert.equal((await call('DestroyView', `<_this type="ContainerView">${view}</_this>`)).status, 200);
    await call('DestroyView', '<_this type="ContainerView">not-ours</_this>');
    await call('Logout', '');
    proxy.setCapture(false);
    await client.close();

    const recs = proxy.drain();
    assert.deepEqual(
      recs.map((r) => [r.method, r.status, r.fullInventory]),
      [
        ['CreateContainerView', 200, false],
        ['RetrievePropertiesEx', 200, true],
        ['ContinueRetrievePropertiesEx', 200, false],
        ['ContinueRetrievePropertiesEx', 200, false],
        ['QueryPerf', 200, false],
        ['DestroyView', 200, false],
        ['DestroyView', 500, false],
        ['Logout', 500, false],
      ],
    );
    assert.ok(recs[1]!.responseBytes > 100_000);
    const capture = recs.flatMap((r) => (r.capture ? [r.capture] : []));
    for (const target of [url, proxy.url]) {
      const floor = await measureFloor(target, capture, 2);
      assert.equal(floor.statusMismatches, 0);
      assert.equal(floor.requests, 6);
      assert.equal(floor.rewritten, 4);
      assert.deepEqual(floor.skipped, { DestroyView: 1, Logout: 1 });
      assert.equal(fake.open(), 0, 'every replayed view destroyed and every token consumed');
    }
  });
});
