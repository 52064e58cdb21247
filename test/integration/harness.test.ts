/**
 * Tests of the test harness itself: the simulator, the raw SOAP observer, the exposition parser,
 * promtool and the exporter process wrapper. Other integration tests rely on all of them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSessions, rawLogin, startVcsim, terminateSession, type Vcsim } from '../harness/vcsim.js';
import { SoapFault } from '../harness/vim-soap.js';
import { exporterEntry, runExporterOnce, startExporter } from '../harness/exporter.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';
import { promtoolCheckMetrics } from '../harness/promtool.js';
import { procAlive } from '../harness/procs.js';

void describe('vcsim harness (default VPX model)', () => {
  let vc: Vcsim;
  before(async () => {
    vc = await startVcsim();
  });
  after(async () => {
    await vc?.stop();
  });

  void test('starts and describes its inventory from the simulator model', () => {
    assert.match(vc.url, /^http:\/\/127\.0\.0\.1:\d+\/sdk$/);
    assert.ok(procAlive(vc.pid));
    const { vms, hosts } = vc.inventory;
    // 1 datacenter: a cluster of 3 hosts plus 1 standalone host; 2 VMs in each of the 2 root pools.
    assert.deepEqual(hosts.map((h) => h.name).sort(), ['DC0_C0_H0', 'DC0_C0_H1', 'DC0_C0_H2', 'DC0_H0']);
    assert.deepEqual(vms.map((v) => v.name).sort(), [
      'DC0_C0_RP0_VM0',
      'DC0_C0_RP0_VM1',
      'DC0_H0_VM0',
      'DC0_H0_VM1',
    ]);
    const hostMoids = new Set(hosts.map((h) => h.moid));
    for (const vm of vms) {
      assert.match(vm.moid, /^vm-\d+$/);
      assert.ok(hostMoids.has(vm.host), `${vm.name} runs on a listed host`);
      assert.equal(vm.powerState, 'poweredOn');
      assert.equal(vm.template, false);
      assert.ok(vm.numCpu > 0 && vm.memoryMB > 0);
      assert.match(vm.instanceUuid, /^[0-9a-f-]{36}$/);
      assert.match(vm.uuid, /^[0-9a-f-]{36}$/);
    }
    for (const h of hosts) {
      assert.match(h.moid, /^host-\d+$/);
      assert.ok(h.numCpuCores > 0 && h.cpuMhz > 0 && h.memorySize > 0);
      assert.equal(h.connectionState, 'connected');
      assert.equal(h.inMaintenanceMode, false);
      assert.match(h.version, /^\d+\.\d+/);
    }
  });

  void test('listSessions sees exactly the sessions other clients hold', async () => {
    assert.deepEqual(await listSessions(vc), []);
    const other = await rawLogin(vc);
    try {
      assert.deepEqual(await listSessions(vc), [{ key: other.key, userName: vc.user }]);
    } finally {
      await other.logout();
    }
    assert.deepEqual(await listSessions(vc), []);
  });

  void test('terminateSession ends another session; a wrong password is refused', async () => {
    const other = await rawLogin(vc);
    await terminateSession(vc, other.key);
    assert.deepEqual(await listSessions(vc), []);
    // vcsim answers an unknown session cookie as if logged out: no currentSession.
    assert.equal((await other.client.sessions()).current, undefined, 'the terminated session is gone');
    await assert.rejects(
      rawLogin(vc, { password: 'wrong' }),
      (e: unknown) => e instanceof SoapFault && /Login/.test(e.message),
    );
  });
});

void describe('vcsim lifecycle', () => {
  void test('model flags apply; stop() leaves no process and is idempotent', async () => {
    const vc = await startVcsim({ args: ['-vm', '1', '-host', '1'], user: 'someone', password: 'p"<&>' });
    assert.equal(vc.inventory.vms.length, 2);
    assert.equal(vc.inventory.hosts.length, 2);
    const s = await rawLogin(vc);
    assert.equal(s.userName, 'someone', 'XML special characters in the password are escaped');
    await s.logout();
    await vc.stop();
    assert.equal(procAlive(vc.pid), false);
    await vc.stop();
  });

  void test('a bad flag fails fast with vcsim’s message and leaves no process', async () => {
    await assert.rejects(startVcsim({ args: ['-method-delay', 'bogus'] }), /exited.*bad -method-delay/s);
  });
});

void describe('Prometheus text parser', () => {
  const good = [
    '# HELP a_total Things\\\\done\\nso far.',
    '# TYPE a_total counter',
    'a_total{path="/x",q="say \\"hi\\"\\\\n\\n"} 3 1700000000000',
    'a_total{path="/y",} 4',
    '# a comment',
    '# TYPE h histogram',
    'h_bucket{le="1"} 1',
    'h_bucket{le="+Inf"} 2',
    'h_sum 1.5e3',
    'h_count 2',
    'g NaN',
    'g2 -Inf',
    'g3 +Inf',
    'g4 Nan',
    '',
  ].join('\n');

  void test('parses samples, escapes, special values, HELP and TYPE', () => {
    const { samples, types, help } = parsePrometheusText(good);
    assert.equal(samples.length, 10);
    assert.deepEqual(find(samples, 'a_total', { path: '/x' })[0], {
      name: 'a_total',
      labels: { path: '/x', q: 'say "hi"\\n\n' },
      value: 3,
      timestamp: 1700000000000,
    });
    assert.equal(find(samples, 'a_total').length, 2);
    assert.equal(find(samples, 'a_total', { path: undefined }).length, 2);
    assert.equal(find(samples, 'h_bucket', { le: '+Inf' })[0]?.value, 2);
    assert.equal(find(samples, 'h_sum')[0]?.value, 1500);
    assert.ok(Number.isNaN(find(samples, 'g')[0]?.value));
    assert.equal(find(samples, 'g2')[0]?.value, -Infinity);
    assert.equal(find(samples, 'g3')[0]?.value, Infinity);
    assert.ok(
      Number.isNaN(find(samples, 'g4')[0]?.value),
      'prom-client writes NaN as Nan; Prometheus accepts it',
    );
    assert.equal(types.get('h'), 'histogram');
    assert.equal(help.get('a_total'), 'Things\\done\nso far.');
  });

  const bad: [string, string][] = [
    ['no final newline', 'a 1'],
    ['bad value', 'a one\n'],
    ['underscore in value', 'a 1_000\n'],
    ['missing value', 'a{b="c"}\n'],
    ['junk after name', 'a+1 2\n'],
    ['bad label name', 'a{1b="c"} 1\n'],
    ['unquoted label value', 'a{b=c} 1\n'],
    ['unterminated label value', 'a{b="c} 1\n'],
    ['unknown escape', 'a{b="\\t"} 1\n'],
    ['duplicate label', 'a{b="1",b="2"} 1\n'],
    ['bad timestamp', 'a 1 2.5\n'],
    ['too many fields', 'a 1 2 3\n'],
    ['bad TYPE', '# TYPE a countr\na 1\n'],
    ['TYPE without name', '# TYPE\na 1\n'],
    ['second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n'],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['family not contiguous', 'a 1\nb 1\na{x="y"} 2\n'],
  ];
  for (const [what, text] of bad) {
    void test(`rejects: ${what}`, () => {
      assert.throws(() => parsePrometheusText(text));
    });
  }

  void test('promtool accepts good text and reports lint problems', async () => {
    const ok = await promtoolCheckMetrics('# HELP x_total Things.\n# TYPE x_total counter\nx_total 1\n');
    assert.deepEqual(ok, { code: 0, output: '' });
    const lint = await promtoolCheckMetrics('# HELP x Things.\n# TYPE x counter\nx 1\n');
    assert.notEqual(lint.code, 0);
    assert.match(lint.output, /_total/);
  });
});

void describe(
  'exporter process harness',
  { skip: existsSync(exporterEntry) ? false : 'dist/main.js not built' },
  () => {
    let vc: Vcsim;
    let dir: string;
    before(async () => {
      vc = await startVcsim();
      dir = mkdtempSync(join(tmpdir(), 'vsx-harness-'));
    });
    after(async () => {
      await vc?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    void test('clean environment, ulimit, /proc readings, scrape and stop', async () => {
      const file = join(dir, 'password');
      writeFileSync(file, `${vc.password}\n`, { mode: 0o600 });
      // Must not leak into the child: the harness passes only PATH, HOME and what the test gives.
      process.env.VSPHERE_LEAK_CHECK = 'leaked';
      let exporter;
      try {
        exporter = await startExporter({
          env: { VSPHERE_URL: vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: file },
          ulimitNofile: 200,
        });
      } finally {
        delete process.env.VSPHERE_LEAK_CHECK;
      }
      try {
        const environ = readFileSync(`/proc/${exporter.pid}/environ`, 'utf8').split('\0');
        assert.ok(!environ.some((e) => e.startsWith('VSPHERE_LEAK_CHECK=')));
        assert.ok(environ.includes(`VSPHERE_URL=${vc.url}`));
        assert.match(
          readFileSync(`/proc/${exporter.pid}/cmdline`, 'utf8'),
          /dist\/main\.js/,
          'pid is node, not bash',
        );
        assert.match(readFileSync(`/proc/${exporter.pid}/limits`, 'utf8'), /Max open files\s+200\s+200/);
        assert.match(exporter.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.ok(exporter.openFds() > 3);
        assert.ok(exporter.rssBytes() > 10 * 1024 * 1024);
        assert.ok(exporter.logs.some((l) => l.msg === 'listening'));
        const res = await exporter.scrape();
        assert.equal(res.status, 200);
        assert.equal(find(parsePrometheusText(res.text).samples, 'vsphere_up')[0]?.value, 1);
      } finally {
        const exit = await exporter.stop();
        assert.equal(exit.code, 0);
      }
      assert.equal(procAlive(exporter.pid), false);
      assert.deepEqual(await exporter.stop(), await exporter.exited);
    });

    void test('runExporterOnce returns exit code and output', async () => {
      const r = await runExporterOnce(['--version']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /vsphere-exporter/);
    });
  },
);
