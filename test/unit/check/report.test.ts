import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { counterProblems, wantedCounters } from '../../../src/check/counters.js';
import { splitFormat } from '../../../src/check/command.js';
import { loginProblem } from '../../../src/check/inspect.js';
import { exitCode, formatJson, formatText, type TargetReport } from '../../../src/check/report.js';
import { COLLECTOR_DEFAULTS } from '../../../src/model/names.js';
import { extraCounterSuffix, HOST_PERF, VM_PERF } from '../../../src/collectors/perf-metrics.js';
import type { CollectorOptions, TargetConfig } from '../../../src/config/schema.js';
import type { PerfCounter } from '../../../src/vsphere/perf-manager.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

const GOOD: TargetReport = {
  target: 'vc1',
  url: 'https://vc1.example.com/sdk',
  user: 'ro@vsphere.local',
  problems: [],
  warnings: [],
  about: {
    fullName: 'VMware vCenter Server 8.0.2 build-22617221',
    name: 'VMware vCenter Server',
    version: '8.0.2',
    build: '22617221',
    apiType: 'VirtualCenter',
    apiVersion: '8.0.2.0',
  },
  intervals: [
    { name: 'Past day', samplingPeriodSeconds: 300, level: 1, enabled: true },
    { name: 'Past week', samplingPeriodSeconds: 1800, level: 1, enabled: true },
    { name: 'Past month', samplingPeriodSeconds: 7200, enabled: false },
  ],
  maxQueryMetrics: { effective: 256, vcenter: 256 },
  counters: { checked: 25, problems: [] },
  privileges: { checked: ['System.Anonymous', 'System.View', 'System.Read'], missing: [] },
  loggedOut: true,
};

void describe('check report', () => {
  void it("prints vCenter's strings without their control characters (no escape sequence, no faked line)", () => {
    const hostile: TargetReport = {
      ...GOOD,
      about: {
        ...GOOD.about!,
        name: 'vCenter\x1b[2J\x1b[31m',
        version: '8.0\ntarget vc9 (x): OK',
        build: '1\u009b2',
      },
      problems: ['login failed: \rfault\x07'],
    };
    const text = formatText({ targets: [hostile] });
    assert.doesNotMatch(
      text,
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/,
      'no control character but line ends',
    );
    assert.equal(text.split('\n').filter((l) => l.startsWith('target ')).length, 1, 'one target line');
    assert.match(text, /server: +vCenter\\x1b\[2J\\x1b\[31m 8\.0\\x0atarget vc9 \(x\): OK build 1\\x9b2 /);
    assert.match(text, /problem: login failed: \\x0dfault\\x07$/m);
  });

  void it('prints one block per target and a summary line', () => {
    assert.equal(
      formatText({ targets: [GOOD] }),
      [
        'target vc1 (https://vc1.example.com/sdk as ro@vsphere.local): OK',
        '  server:           VMware vCenter Server 8.0.2 build 22617221 (VirtualCenter, API 8.0.2.0)',
        '  statistics:       realtime 20 s: all counters; Past day (300 s): level 1, enabled; ' +
          'Past week (1800 s): level 1, enabled; Past month (7200 s): level unset, disabled',
        '  maxQueryMetrics:  256 (config.vpxd.stats.maxQueryMetrics = 256)',
        '  counters:         25 configured, all in the catalogue',
        '  privileges:       System.Anonymous, System.View, System.Read granted on the root folder',
        '  logged out',
        'the target is OK',
        '',
      ].join('\n'),
    );
    assert.equal(exitCode({ targets: [GOOD] }), 0);
  });

  void it('lists problems and warnings, says where maxQueryMetrics comes from, and exits 1', () => {
    const bad: TargetReport = {
      ...GOOD,
      target: 'vc2',
      intervals: [],
      maxQueryMetrics: { effective: 100, vcenter: 64, configured: 100 },
      counters: {
        checked: 26,
        problems: [{ counter: 'cpu.nosuch.average', sources: ['vm.extra_counters'], reason: 'x' }],
      },
      privileges: { checked: ['System.View', 'System.Read'], missing: ['System.Read'] },
      problems: [
        'counter cpu.nosuch.average (vm.extra_counters): not in the catalogue',
        'user lacks System.Read',
      ],
      warnings: ['TLS certificate verification is disabled (insecure_skip_verify)'],
      loggedOut: false,
    };
    const refused: TargetReport = {
      target: 'vc3',
      url: 'https://vc3/sdk',
      user: 'u',
      problems: ['login refused'],
      warnings: [],
    };
    const text = formatText({ targets: [GOOD, bad, refused] });
    assert.match(text, /^target vc2 \(.*\): FAILED$/m);
    assert.match(text, /^ {2}statistics: {7}realtime 20 s: all counters; no historical intervals reported$/m);
    assert.match(
      text,
      /^ {2}maxQueryMetrics: {2}100 \(max_query_metrics in the config; config\.vpxd\.stats\.maxQueryMetrics = 64\)$/m,
    );
    assert.match(text, /^ {2}counters: {9}26 configured, 1 unusable$/m);
    assert.match(text, /^ {2}privileges: {7}missing System\.Read on the root folder$/m);
    assert.match(
      text,
      /^ {2}problem: counter cpu\.nosuch\.average \(vm\.extra_counters\): not in the catalogue\n {2}problem: user lacks System\.Read\n {2}warning: TLS/m,
    );
    assert.match(text, /^ {2}logout failed$/m);
    // A target that never logged in shows only its problem.
    assert.match(
      text,
      /^target vc3 \(https:\/\/vc3\/sdk as u\): FAILED\n {2}problem: login refused\n2 of 3 targets failed: vc2, vc3\n$/m,
    );
    assert.equal(exitCode({ targets: [GOOD, bad, refused] }), 1);
    assert.match(
      formatText({ targets: [{ ...GOOD, maxQueryMetrics: { effective: 256 } }] }),
      /maxQueryMetrics: {2}256 \(exporter default; config\.vpxd\.stats\.maxQueryMetrics not set on the server\)/,
    );
  });

  void it('JSON carries ok overall and per target', () => {
    const refused: TargetReport = {
      target: 'vc3',
      url: 'https://vc3/sdk',
      user: 'u',
      problems: ['login refused'],
      warnings: [],
    };
    const j = JSON.parse(formatJson({ targets: [GOOD, refused] })) as {
      ok: boolean;
      targets: (TargetReport & { ok: boolean })[];
    };
    assert.equal(j.ok, false);
    assert.deepEqual(
      j.targets.map((t) => [t.target, t.ok]),
      [
        ['vc1', true],
        ['vc3', false],
      ],
    );
    assert.deepEqual(j.targets[0]?.about, GOOD.about);
  });
});

const OPTIONS: CollectorOptions = {
  vm: {
    snapshotTimestamps: false,
    instanceMetrics: false,
    extraCounters: ['cpu.usage.average', 'cpu.nosuch.average'],
  },
  host: { extraCounters: ['disk.weird.latest', 'cpu.capacity.summation'] },
  historical: false,
  infoLabels: { tagCategories: [], customAttributes: [] },
};
const target = (collectors: Partial<TargetConfig['collectors']> = {}): TargetConfig =>
  ({ name: 't', collectors: { ...COLLECTOR_DEFAULTS, ...collectors }, filters: {} }) as TargetConfig;
const counter = (name: string, unit: string): PerfCounter => ({ key: 1, name, unit, statsType: 'rate' });

void describe('check counters', () => {
  void it('wants the enabled collectors’ counters once each, naming every config that asks', () => {
    const wanted = wantedCounters(target(), OPTIONS);
    const usage = wanted.find((w) => w.counter === 'cpu.usage.average');
    assert.deepEqual(usage?.sources, ['vm', 'vm.extra_counters', 'host']);
    assert.ok(wanted.some((w) => w.counter === 'cpu.nosuch.average' && w.sources[0] === 'vm.extra_counters'));
    for (const d of [...VM_PERF, ...HOST_PERF])
      assert.ok(
        wanted.some((w) => w.counter === d.counter),
        d.counter,
      );
    assert.equal(new Set(wanted.map((w) => w.counter)).size, wanted.length);
    const noVm = wantedCounters(target({ vm: false }), OPTIONS);
    assert.ok(
      !noVm.some((w) => w.counter === 'cpu.nosuch.average'),
      'vm off: its extra counters are not wanted',
    );
    assert.ok(wantedCounters(target({ vm: false, host: false, datastore: false }), OPTIONS).length === 0);
    // The datastore collector reads the hosts' datastore counters itself when the host collector is off.
    const dsOnly = wantedCounters(target({ vm: false, host: false }), OPTIONS);
    assert.deepEqual(dsOnly.find((w) => w.counter === 'datastore.numberReadAveraged.average')?.sources, [
      'datastore (host realtime)',
    ]);
    const hist = wantedCounters(target({ vm: false, host: false }), { ...OPTIONS, historical: true });
    assert.ok(hist.some((w) => w.sources.includes('cluster (historical.enabled)')));
  });

  void it('reports absent counters, units the exporter does not convert, and extra counters of unusable units', () => {
    const wanted = wantedCounters(target({ host: true, vm: true }), OPTIONS);
    const catalogue = new Map<string, PerfCounter>();
    for (const w of wanted) catalogue.set(w.counter, counter(w.counter, w.unit === '*' ? 'percent' : w.unit));
    catalogue.delete('cpu.nosuch.average');
    catalogue.set('cpu.usagemhz.average', counter('cpu.usagemhz.average', 'kiloBytes'));
    catalogue.set('disk.weird.latest', counter('disk.weird.latest', 'teraFlops'));
    catalogue.set('cpu.capacity.summation', counter('cpu.capacity.summation', 'megaHertz'));
    assert.deepEqual(counterProblems(wanted, catalogue), [
      {
        counter: 'cpu.usagemhz.average',
        sources: ['vm', 'host'],
        reason: 'unit "kiloBytes" in the catalogue, the exporter converts from "megaHertz"',
      },
      {
        counter: 'cpu.nosuch.average',
        sources: ['vm.extra_counters'],
        reason: "not in vCenter's counter catalogue",
      },
      {
        counter: 'disk.weird.latest',
        sources: ['host.extra_counters'],
        reason: 'unit "teraFlops" cannot be converted to a base unit',
      },
      {
        counter: 'cpu.capacity.summation',
        sources: ['host.extra_counters'],
        reason: 'a summation in unit "megaHertz" has no per-second form the exporter could export',
      },
    ]);
  });

  void it('accepts the units of the vCenter 9.0.1 catalogue as extra counters: nanosecond, gigaBytes, teraBytes, joule summations', () => {
    const extra = ['cpu.latency.latest', 'mem.vmfs.average', 'mem.pbc.latest', 'power.energy.summation'];
    const options = { ...OPTIONS, vm: { ...OPTIONS.vm, extraCounters: [] }, host: { extraCounters: extra } };
    const wanted = wantedCounters(target({ vm: false }), options);
    const units = ['nanosecond', 'gigaBytes', 'teraBytes', 'joule'];
    const catalogue = new Map<string, PerfCounter>();
    for (const w of wanted) catalogue.set(w.counter, counter(w.counter, w.unit));
    extra.forEach((c, i) => catalogue.set(c, counter(c, units[i]!)));
    assert.deepEqual(counterProblems(wanted, catalogue), []);
    assert.deepEqual(
      extra.map((c, i) => extraCounterSuffix(units[i]!, c.endsWith('.summation'))),
      ['seconds', 'bytes', 'bytes', 'watts'],
    );
    // A unit vCenter names that the exporter does not know is named, whatever the string.
    catalogue.set('power.energy.summation', counter('power.energy.summation', 'constructor'));
    assert.deepEqual(counterProblems(wanted, catalogue), [
      {
        counter: 'power.energy.summation',
        sources: ['host.extra_counters'],
        reason: 'unit "constructor" cannot be converted to a base unit',
      },
    ]);
  });
});

void describe('check command line', () => {
  void it('takes --format out of the arguments given to the config loader', () => {
    assert.deepEqual(splitFormat(['--config.file', 'c.yml', '--format=json']), {
      format: 'json',
      rest: ['--config.file', 'c.yml'],
    });
    assert.deepEqual(splitFormat(['--format', 'text', '--log.level=debug']), {
      format: 'text',
      rest: ['--log.level=debug'],
    });
    assert.deepEqual(splitFormat([]), { format: 'text', rest: [] });
    assert.equal(splitFormat(['--format']).format, '');
  });

  void it('says why a login failed in words pointing at the fix', () => {
    const url = new URL('https://vc.example.com/sdk');
    assert.match(
      loginProblem(new VsphereError('VSPHERE_INVALID_LOGIN', 'Login: InvalidLogin'), 'ro', url),
      /^login refused for user ro .*: Login: InvalidLogin$/,
    );
    assert.equal(
      loginProblem(new VsphereError('VSPHERE_CONNECTION', 'RetrieveServiceContent: ECONNREFUSED'), 'ro', url),
      'cannot connect to vc.example.com: RetrieveServiceContent: ECONNREFUSED',
    );
    assert.match(
      loginProblem(new VsphereError('VSPHERE_TIMEOUT', 'Login: timed out'), 'ro', url),
      /^login failed \(VSPHERE_TIMEOUT\)/,
    );
    assert.equal(loginProblem(new Error('boom'), 'ro', url), 'login failed: boom');
  });
});
