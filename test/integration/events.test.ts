/**
 * The events collector (--collector.events) against both simulators, through a proxy that counts
 * SOAP calls: vsphere_events_total is compared with what the raw client reads with its own
 * EventHistoryCollector from the exporter's login on; one ReadNextEvents per steady-state scrape;
 * a re-login counts nothing twice; the collector is destroyed at shutdown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { startVcsim } from '../harness/vcsim.js';
import { startVcsim8, vcsim8SkipReason } from '../harness/vcsim8.js';
import { RawVimClient, xmlEscape } from '../harness/vim-soap.js';
import { vmTask } from '../harness/vim-tasks.js';
import { otherSessionLoginTime, RawEventCollector, tally } from '../harness/vim-events.js';

interface Sim {
  url: string;
  user: string;
  password: string;
  stop(): Promise<void>;
}

async function scrape(e: ExporterProcess): Promise<Sample[]> {
  const res = await e.scrape();
  assert.equal(res.status, 200);
  const samples = parsePrometheusText(res.text).samples;
  assert.equal(find(samples, 'vsphere_collector_success', { collector: 'events' })[0]?.value, 1, res.text);
  return samples;
}

/** vsphere_events_total as `type|entity_kind|severity` → count. */
function counted(samples: Sample[]): Map<string, number> {
  return new Map(
    find(samples, 'vsphere_events_total').map((s) => [
      `${s.labels.type}|${s.labels.entity_kind}|${s.labels.severity}`,
      s.value,
    ]),
  );
}

const sorted = (m: Map<string, number>): [string, number][] => [...m].sort(([a], [b]) => a.localeCompare(b));

function setup(start: () => Promise<Sim>) {
  const ctx = {} as { vc: Sim; proxy: FaultProxy; exporter: ExporterProcess; raw: RawVimClient; dir: string };
  before(async () => {
    ctx.dir = mkdtempSync(join(tmpdir(), 'vsx-events-'));
    ctx.vc = await start();
    // The raw client logs in first: its own login is before the exporter's and counted by neither.
    ctx.raw = new RawVimClient(ctx.vc.url);
    await ctx.raw.login(ctx.vc.user, ctx.vc.password);
    ctx.proxy = await startFaultProxy(ctx.vc.url);
    const pw = join(ctx.dir, 'password');
    writeFileSync(pw, ctx.vc.password, { mode: 0o600 });
    ctx.exporter = await startExporter({
      env: { VSPHERE_URL: ctx.proxy.url, VSPHERE_USER: ctx.vc.user, VSPHERE_PASSWORD_FILE: pw },
      args: ['--collector.events'],
    });
  });
  after(async () => {
    await ctx.exporter?.stop();
    await ctx.raw?.logout().catch(() => undefined);
    await ctx.proxy?.close();
    await ctx.vc?.stop();
    rmSync(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}

/** SOAP calls per method sent by `fn`. */
async function callsDuring(proxy: FaultProxy, fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = proxy.counts();
  await fn();
  const after = proxy.counts();
  return Object.fromEntries(
    Object.entries(after)
      .map(([m, n]) => [m, n - (before[m] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

void describe(
  'events collector against vcsim 8 (the current history collector)',
  { skip: vcsim8SkipReason() },
  () => {
    const ctx = setup(() => startVcsim8());
    let rawCollector: RawEventCollector;
    const rawSeen: Awaited<ReturnType<RawEventCollector['readAll']>> = [];

    test('first scrape: only the exporter own login is counted, none of the simulator history', async (t) => {
      const samples = await scrape(ctx.exporter);
      const got = counted(samples);
      t.diagnostic(`first scrape: ${JSON.stringify(sorted(got))}`);
      assert.deepEqual(sorted(got), [['UserLoginSessionEvent|none|info', 1]]);
      assert.ok(find(samples, 'vsphere_events_latest_timestamp_seconds')[0]!.value > Date.now() / 1000 - 600);
      // The raw client's collector starts where the exporter's does: its session's loginTime.
      rawCollector = await RawEventCollector.create(
        ctx.raw,
        await otherSessionLoginTime(ctx.raw, ctx.vc.user),
      );
      rawSeen.push(...(await rawCollector.readAll()));
      assert.deepEqual(sorted(tally(rawSeen)), sorted(got));
    });

    test('after power off, power on and rename: the counts equal the raw client collector', async (t) => {
      const vm = (await ctx.raw.retrieveAll('VirtualMachine', ['name']))[0]!.moid;
      await vmTask(ctx.raw, 'PowerOffVM_Task', vm);
      await vmTask(ctx.raw, 'PowerOnVM_Task', vm);
      await vmTask(ctx.raw, 'Rename_Task', vm, `<newName>${xmlEscape('events-renamed')}</newName>`);
      const got = counted(await scrape(ctx.exporter));
      rawSeen.push(...(await rawCollector.readAll()));
      t.diagnostic(`exporter: ${JSON.stringify(sorted(got))}`);
      assert.ok((got.get('VmPoweredOffEvent|VirtualMachine|info') ?? 0) >= 1, 'VmPoweredOffEvent counted');
      assert.ok((got.get('VmPoweredOnEvent|VirtualMachine|info') ?? 0) >= 1, 'VmPoweredOnEvent counted');
      assert.deepEqual(sorted(got), sorted(tally(rawSeen)));
    });

    test('steady state: one ReadNextEvents per scrape, no collector created, no property read', async (t) => {
      const sent = await callsDuring(ctx.proxy, async () => {
        for (let i = 0; i < 3; i++) await scrape(ctx.exporter);
      });
      t.diagnostic(`SOAP calls in 3 scrapes: ${JSON.stringify(sent)}`);
      assert.equal(sent.ReadNextEvents, 3);
      for (const m of ['CreateCollectorForEvents', 'RetrievePropertiesEx', 'DestroyCollector'])
        assert.equal(sent[m] ?? 0, 0, m);
    });

    test('a terminated session: the new session gets a new collector and nothing is counted twice', async () => {
      const { list, current } = await ctx.raw.sessions();
      const theirs = list.find((s) => s.userName === ctx.vc.user && s.key !== current?.key);
      assert.ok(theirs);
      await ctx.raw.terminate(theirs.key);
      // The scrape that finds the session gone logs in again and reads the new session's collector.
      const sent = await callsDuring(ctx.proxy, () => scrape(ctx.exporter));
      assert.equal(sent.CreateCollectorForEvents, 1, JSON.stringify(sent));
      const got = counted(await scrape(ctx.exporter));
      rawSeen.push(...(await rawCollector.readAll()));
      assert.deepEqual(sorted(got), sorted(tally(rawSeen)));
      assert.equal(got.get('UserLoginSessionEvent|none|info'), 2, 'the first login and the re-login');
      // Each event once: the raw client read no key twice either.
      assert.equal(new Set(rawSeen.map((e) => e.key)).size, rawSeen.length);
    });

    test('shutdown destroys the collector and logs out', async () => {
      await rawCollector.destroy();
      const sent = await callsDuring(ctx.proxy, () => ctx.exporter.stop());
      assert.equal(sent.DestroyCollector, 1, JSON.stringify(sent));
      assert.equal(sent.Logout, 1, JSON.stringify(sent));
    });
  },
);

void describe('events collector against vcsim 0.24 (which ignores the time filter)', () => {
  const ctx = setup(() => startVcsim());

  test('history is never counted: vcsim 0.24 answers its latest page, the exporter keeps only its own login', async () => {
    const got = counted(await scrape(ctx.exporter));
    assert.deepEqual(sorted(got), [['UserLoginSessionEvent|none|info', 1]]);
    const sent = await callsDuring(ctx.proxy, async () => {
      for (let i = 0; i < 3; i++) await scrape(ctx.exporter);
    });
    assert.equal(sent.ReadNextEvents, 3);
    assert.equal(sent.CreateCollectorForEvents ?? 0, 0);
    assert.deepEqual(sorted(counted(await scrape(ctx.exporter))), [['UserLoginSessionEvent|none|info', 1]]);
  });

  test('shutdown destroys the collector', async () => {
    const sent = await callsDuring(ctx.proxy, () => ctx.exporter.stop());
    assert.equal(sent.DestroyCollector, 1, JSON.stringify(sent));
  });
});
