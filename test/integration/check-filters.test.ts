import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { userSessions } from '../harness/env.js';
import { runExporterOnce } from '../harness/exporter.js';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';

interface KindCount {
  kind: string;
  total: number;
  kept: number;
  filtered: boolean;
}

interface JsonReport {
  ok: boolean;
  targets: { target: string; ok: boolean; problems: string[]; objects?: KindCount[] }[];
}

// -dc 1 -cluster 1 -host 2 -vm 2 -ds 2: one datacenter DC0, one cluster DC0_C0 with two hosts,
// a standalone host, two datastores, the VMs spread over the hosts, one root pool per compute resource.
describe('vsphere-exporter check: what the filters keep', () => {
  let vc: Vcsim;
  let dir: string;
  let pw: string;

  /** Writes a single-target config with `filters` and returns its path. */
  function config(filters: object): string {
    const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(file, stringify({ vsphere: { url: vc.url, user: vc.user, password_file: pw }, filters }));
    return file;
  }

  const counts = (r: JsonReport): Map<string, KindCount> =>
    new Map((r.targets[0]?.objects ?? []).map((c) => [c.kind, c]));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-check-filters-'));
    vc = await startVcsim({ args: ['-dc', '1', '-cluster', '1', '-host', '2', '-vm', '2', '-ds', '2'] });
    pw = join(dir, 'pw');
    writeFileSync(pw, `${vc.password}\n`, { mode: 0o600 });
  });
  after(async () => {
    await vc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the README's example path /DC1/vm/prod/** keeps no VM of DC0: not OK, exit 1, the counts and a path that exists", async () => {
    const vms = vc.inventory.vms.length;
    const hosts = vc.inventory.hosts.length;
    assert.ok(vms > 0 && hosts > 0);
    const file = config({ vm: { include: { paths: ['/DC1/vm/prod/**'] } } });
    const r = await runExporterOnce(['check', '--config.file', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^target default \(.*\): FAILED$/m);
    assert.ok(!/^the target is OK$/m.test(r.stdout), r.stdout);
    assert.match(r.stdout, new RegExp(`^ {2}objects: +vm 0 of ${vms} kept, host ${hosts}, cluster 1, `, 'm'));
    assert.match(
      r.stdout,
      new RegExp(
        `^ {2}problem: filters\\.vm keeps none of the ${vms} VMs \\(include paths "/DC1/vm/prod/\\*\\*"; inventory paths here look like /DC0/vm/\\S+\\)$`,
        'm',
      ),
    );
    assert.match(r.stdout, /^ {2}logged out$/m);

    const j = await runExporterOnce(['check', '--config.file', file, '--format=json']);
    assert.equal(j.code, 1, j.stderr);
    const report = JSON.parse(j.stdout) as JsonReport;
    assert.equal(report.ok, false);
    assert.equal(report.targets[0]?.ok, false);
    const c = counts(report);
    const vm = c.get('vm') as KindCount & { examplePath?: string };
    assert.deepEqual([vm.total, vm.kept, vm.filtered], [vms, 0, true]);
    assert.match(vm.examplePath ?? '', /^\/DC0\/vm\//, 'a path the filter could have used');
    assert.deepEqual(
      report.targets[0]?.problems.filter((p) => p.startsWith('filters.')).map((p) => p.split(' (')[0]),
      [`filters.vm keeps none of the ${vms} VMs`],
    );
    assert.deepEqual(await userSessions(vc), [], 'check logged out');
  });

  test('filters that keep some objects: exit 0 with kept-of-total per filtered kind and plain totals for the rest', async () => {
    const vms = vc.inventory.vms;
    const hosts = vc.inventory.hosts;
    const file = config({
      vm: { include: { names: [vms[0]!.name] } },
      host: { exclude: { names: [hosts[0]!.name] } },
      cluster: { include: { paths: ['/DC0/host/*'] } },
    });
    const j = await runExporterOnce(['check', '--config.file', file, '--format=json']);
    assert.equal(j.code, 0, j.stdout + j.stderr);
    const c = counts(JSON.parse(j.stdout) as JsonReport);
    assert.deepEqual(
      ['vm', 'host', 'cluster', 'datastore', 'resource_pool', 'datacenter'].map((k) => {
        const x = c.get(k);
        return [k, x?.kept, x?.total, x?.filtered];
      }),
      [
        ['vm', 1, vms.length, true],
        ['host', hosts.length - 1, hosts.length, true],
        ['cluster', 1, 1, true],
        // vcsim -ds 2: two datastores; the root pools of the cluster and of the standalone host.
        ['datastore', 2, 2, false],
        ['resource_pool', c.get('resource_pool')?.total, c.get('resource_pool')?.total, false],
        ['datacenter', 1, 1, false],
      ],
    );
    assert.ok((c.get('resource_pool')?.total ?? 0) >= 2);

    const r = await runExporterOnce(['check', '--config.file', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^ {2}objects: +vm 1 of ${vms.length} kept, host ${hosts.length - 1} of ${hosts.length} kept, cluster 1 of 1 kept, datastore 2, resource_pool \\d+, datacenter 1$`,
        'm',
      ),
    );
    assert.match(r.stdout, /^the target is OK$/m);
  });

  test('a name filter that keeps none of another kind is reported for that kind only', async () => {
    const file = config({
      datastore: { include: { names: ['nfs-.*'] } },
      datacenter: { include: { names: ['DC1'] } },
    });
    const j = await runExporterOnce(['check', '--config.file', file, '--format=json']);
    assert.equal(j.code, 1, j.stdout + j.stderr);
    const report = JSON.parse(j.stdout) as JsonReport;
    assert.deepEqual(report.targets[0]?.problems, [
      'filters.datastore keeps none of the 2 datastores and datastore clusters (include names "nfs-.*")',
      'filters.datacenter keeps none of the 1 datacenter (include names "DC1")',
    ]);
  });
});
