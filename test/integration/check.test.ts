import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { userSessions } from '../harness/env.js';
import { runExporterOnce } from '../harness/exporter.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { firstTag, RawVimClient } from '../harness/vim-soap.js';

const WRONG_PASSWORD = 'not-the-pässword';

interface JsonReport {
  ok: boolean;
  targets: {
    target: string;
    ok: boolean;
    problems: string[];
    about?: { version: string; build: string; apiVersion: string; apiType: string };
    maxQueryMetrics?: { effective: number; vcenter?: number; configured?: number };
    counters?: { checked: number; problems: { counter: string; sources: string[] }[] };
    privileges?: { missing: string[] };
    loggedOut?: boolean;
  }[];
}

describe('vsphere-exporter check', () => {
  let vc: Vcsim;
  let proxy: FaultProxy;
  let dir: string;
  let goodPw: string;
  let badPw: string;
  let about: { version: string; build: string; apiVersion: string; apiType: string };

  /** Writes a config file of `targets` (name → url and password file) plus `extra` top-level keys. */
  function config(targets: Record<string, { url: string; pw: string }>, extra: object = {}): string {
    const file = join(dir, `c-${Object.keys(targets).join('-')}-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(
      file,
      stringify({
        targets: Object.entries(targets).map(([name, t]) => ({
          name,
          url: t.url,
          user: vc.user,
          password_file: t.pw,
        })),
        ...extra,
      }),
    );
    return file;
  }

  async function check(args: string[]) {
    const r = await runExporterOnce(['check', ...args]);
    for (const secret of [vc.password, WRONG_PASSWORD]) {
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'no password in the output');
    }
    return r;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-check-'));
    vc = await startVcsim({ args: ['-dc', '1', '-cluster', '1', '-host', '2', '-vm', '2', '-ds', '2'] });
    proxy = await startFaultProxy(vc.url);
    goodPw = join(dir, 'good');
    badPw = join(dir, 'bad');
    writeFileSync(goodPw, `${vc.password}\n`, { mode: 0o600 });
    writeFileSync(badPw, `${WRONG_PASSWORD}\n`, { mode: 0o600 });
    // The truth, read without the exporter's client (RetrieveServiceContent needs no session).
    const xml = await new RawVimClient(vc.url).call(
      'RetrieveServiceContent',
      '<_this type="ServiceInstance">ServiceInstance</_this>',
    );
    const tag = (t: string) => firstTag(firstTag(xml, 'about') ?? '', t) ?? '';
    about = {
      version: tag('version'),
      build: tag('build'),
      apiVersion: tag('apiVersion'),
      apiType: tag('apiType'),
    };
    assert.notEqual(about.version, '');
  });
  after(async () => {
    await proxy?.close();
    await vc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a good config exits 0 and reports the server, intervals, maxQueryMetrics, counters and privileges', async () => {
    const file = config(
      { main: { url: vc.url, pw: goodPw } },
      { vm: { extra_counters: ['mem.active.average'] } },
    );
    const r = await check(['--config.file', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^target main \\(${vc.url.replace(/[.]/g, '\\.')} as ${vc.user}\\): OK$`, 'm'),
    );
    assert.ok(
      r.stdout.includes(`${about.version} build ${about.build} (${about.apiType}, API ${about.apiVersion})`),
      r.stdout,
    );
    // vcsim has no config.vpxd.stats.maxQueryMetrics option: the exporter's default applies.
    assert.match(
      r.stdout,
      /maxQueryMetrics:\s+256 \(exporter default; config\.vpxd\.stats\.maxQueryMetrics not set/,
    );
    assert.match(r.stdout, /statistics:\s+realtime 20 s: all counters/);
    assert.match(r.stdout, /counters:\s+\d+ configured, all in the catalogue/);
    assert.match(
      r.stdout,
      /privileges:\s+System\.Anonymous, System\.View, System\.Read granted on the root folder/,
    );
    assert.match(r.stdout, /^ {2}logged out$/m);
    assert.match(r.stdout, /^the target is OK$/m);
    assert.deepEqual(await userSessions(vc), [], 'check logged out');

    const j = await check(['--config.file', file, '--format=json']);
    assert.equal(j.code, 0, j.stderr);
    const report = JSON.parse(j.stdout) as JsonReport;
    assert.equal(report.ok, true);
    const t = report.targets[0]!;
    assert.equal(t.target, 'main');
    assert.deepEqual(
      {
        version: t.about?.version,
        build: t.about?.build,
        apiVersion: t.about?.apiVersion,
        apiType: t.about?.apiType,
      },
      about,
    );
    assert.equal(t.maxQueryMetrics?.effective, 256);
    assert.equal(t.maxQueryMetrics?.vcenter, undefined);
    // The vm and host collectors' built-in counters plus the one extra counter.
    assert.ok((t.counters?.checked ?? 0) > 10, `counters checked: ${t.counters?.checked}`);
    assert.deepEqual(t.counters?.problems, []);
    assert.deepEqual(t.privileges?.missing, []);
    assert.equal(t.loggedOut, true);
    assert.deepEqual(await userSessions(vc), []);
  });

  test('max_query_metrics in the config is reported as the value used', async () => {
    // The single-target shortcut (vsphere section) is the target named "default".
    const file = join(dir, 'mqm.yml');
    writeFileSync(
      file,
      stringify({ vsphere: { url: vc.url, user: vc.user, password_file: goodPw, max_query_metrics: 64 } }),
    );
    const r = await check(['--config.file', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^target default \(/m);
    assert.match(r.stdout, /maxQueryMetrics:\s+64 \(max_query_metrics in the config;/);
  });

  test('a wrong password and an unreachable target exit 1, naming the target and the reason', async () => {
    const file = config({
      good: { url: vc.url, pw: goodPw },
      wrongpw: { url: vc.url, pw: badPw },
      nowhere: { url: 'http://127.0.0.1:1/sdk', pw: goodPw },
    });
    const r = await check(['--config.file', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^target good \(.*\): OK$/m);
    const block = (name: string) =>
      r.stdout.split(/^(?=target |\S)/m).find((b) => b.startsWith(`target ${name} `)) ?? '';
    assert.match(
      block('wrongpw'),
      /^target wrongpw \(.*\): FAILED\n {2}problem: login refused for user exporter/,
    );
    assert.match(block('wrongpw'), /InvalidLogin/);
    assert.match(block('nowhere'), /^target nowhere \(http:\/\/127\.0\.0\.1:1\/sdk as exporter\): FAILED\n/);
    assert.match(block('nowhere'), /problem: cannot connect to 127\.0\.0\.1:1: .*ECONNREFUSED/);
    assert.match(r.stdout, /^2 of 3 targets failed: wrongpw, nowhere$/m);
    assert.deepEqual(
      await userSessions(vc),
      [],
      'the good target logged out; the refused one has no session',
    );
  });

  test('a configured counter missing from the catalogue exits 1 naming it', async () => {
    const file = config(
      { main: { url: vc.url, pw: goodPw } },
      { vm: { extra_counters: ['cpu.nosuch.average', 'mem.active.average'] } },
    );
    const r = await check(['--config.file', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^target main \(.*\): FAILED$/m);
    assert.match(
      r.stdout,
      /^ {2}problem: counter cpu\.nosuch\.average \(vm\.extra_counters\): not in vCenter's counter catalogue$/m,
    );
    assert.doesNotMatch(r.stdout, /mem\.active\.average/, 'an existing extra counter is not a problem');
    assert.match(r.stdout, /counters:\s+\d+ configured, 1 unusable/);
    assert.deepEqual(await userSessions(vc), []);
  });

  test('a joule summation (power.energy.summation) is exportable: check passes it', async () => {
    const file = config(
      { main: { url: vc.url, pw: goodPw } },
      {
        host: { extra_counters: ['power.energy.summation'] },
        vm: { extra_counters: ['mem.overhead.average'] },
      },
    );
    const r = await check(['--config.file', file, '--format=json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const t = (JSON.parse(r.stdout) as JsonReport).targets[0]!;
    assert.deepEqual(t.counters?.problems, []);
  });

  test('a catalogue in the units of vCenter 9.0.1: convertible ones pass, the others are named with why', async () => {
    // vcsim's catalogue rewritten to 9.0.1's units: every rollup of group.name gets unit `unit`.
    const units: [string, string, string][] = [
      ['mem', 'overhead', 'gigaBytes'],
      ['cpu', 'wait', 'nanosecond'],
      ['disk', 'read', 'teraBytes'],
      ['power', 'power', 'mgCO2eqPerHour'],
      ['power', 'energy', 'watt'],
    ];
    proxy.addRule({
      method: 'RetrievePropertiesEx',
      bodyIncludes: '>perfCounter<',
      fault: 'mangle',
      transform: (body) =>
        units.reduce(
          (b, [group, name, unit]) =>
            b.replace(
              new RegExp(
                `(<nameInfo[^>]*>(?:(?!</nameInfo>)[\\s\\S])*<key>${name}</key>\\s*</nameInfo>\\s*` +
                  `<groupInfo[^>]*>(?:(?!</groupInfo>)[\\s\\S])*<key>${group}</key>\\s*</groupInfo>\\s*` +
                  `<unitInfo[^>]*>(?:(?!</unitInfo>)[\\s\\S])*<key>)[^<]*(</key>)`,
                'g',
              ),
              `$1${unit}$2`,
            ),
          body,
        ),
    });
    try {
      const extra = [
        'mem.overhead.average',
        'cpu.wait.summation',
        'power.power.average',
        'power.energy.summation',
      ];
      const file = config(
        { proxied: { url: proxy.url, pw: goodPw } },
        { host: { extra_counters: extra }, vm: { extra_counters: ['disk.read.average'] } },
      );
      const r = await check(['--config.file', file]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const problems = r.stdout.split('\n').filter((l) => l.startsWith('  problem: counter '));
      assert.deepEqual(problems, [
        // disk.read.average is also built in (vm, host): its unit is no longer the one it is converted from.
        '  problem: counter disk.read.average (vm, vm.extra_counters, host): unit "teraBytes" in the catalogue, the exporter converts from "kiloBytesPerSecond"',
        '  problem: counter power.power.average (host.extra_counters): unit "mgCO2eqPerHour" cannot be converted to a base unit',
        '  problem: counter power.energy.summation (host.extra_counters): a summation in unit "watt" has no per-second form the exporter could export',
      ]);
    } finally {
      proxy.clearRules();
      // The next tests count the proxied calls of their own run.
      proxy.resetCounts();
    }
    assert.deepEqual(await userSessions(vc), []);
  });

  test('a missing privilege exits 1 naming it (vcsim grants everything: the answer is rewritten)', async () => {
    proxy.addRule({
      method: 'HasPrivilegeOnEntities',
      fault: 'mangle',
      transform: (body) => body.replace(/(<privId>System\.Read<\/privId>\s*<isGranted>)true/, '$1false'),
    });
    try {
      const file = config({ proxied: { url: proxy.url, pw: goodPw } });
      const r = await check(['--config.file', file]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /privileges:\s+missing System\.Read on the root folder/);
      assert.match(r.stdout, /problem: user exporter lacks System\.Read on the root folder/);
      assert.equal(proxy.counts().HasPrivilegeOnEntities, 1);
    } finally {
      proxy.clearRules();
    }
    assert.deepEqual(await userSessions(vc), []);
  });

  test('a bad config exits 2 with the config error and contacts no server', async () => {
    const file = join(dir, 'bad.yml');
    writeFileSync(file, stringify({ vsphere: { url: proxy.url, user: vc.user, pasword: 'x' } }));
    proxy.resetCounts();
    const r = await check(['--config.file', file]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /vsphere\.pasword/);
    assert.equal(r.stdout, '');
    const f = await check(['--config.file', config({ main: { url: vc.url, pw: goodPw } }), '--format=yaml']);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /--format: expected text or json/);
    assert.deepEqual(proxy.counts(), {});
  });
});
