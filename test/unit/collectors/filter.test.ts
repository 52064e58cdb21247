import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilter, filterInventory } from '../../../src/collectors/filter.js';
import { globRegExp, nameRegExp } from '../../../src/model/filters.js';
import { buildInventory } from '../../../src/vsphere/inventory.js';
import { BASE_ENV, fails, run, TempDir } from '../config/helpers.js';

const tmp = new TempDir();

void describe('path globs', () => {
  void it('* and ? stay within a segment, ** spans segments, the rest is literal', () => {
    const g = globRegExp('/DC1/vm/prod-*/**');
    assert.ok(g.test('/DC1/vm/prod-eu/web/VM1'));
    assert.ok(g.test('/DC1/vm/prod-eu/VM1'));
    assert.ok(!g.test('/DC1/vm/prod-eu'));
    assert.ok(!g.test('/DC1/vm/test/VM1'));
    assert.ok(globRegExp('/DC?/host/*').test('/DC1/host/C0'));
    assert.ok(!globRegExp('/DC?/host/*').test('/DC1/host/C0/H0'));
    assert.ok(globRegExp('/a.b/(x)+[y]/$').test('/a.b/(x)+[y]/$'));
    assert.ok(!globRegExp('/a.b').test('/aXb'));
  });
  void it('name regexes are anchored at both ends', () => {
    assert.ok(nameRegExp('web-.*').test('web-1'));
    assert.ok(!nameRegExp('web').test('web-1'));
    assert.ok(nameRegExp('web|db').test('db'));
  });
});

void describe('compileFilter', () => {
  const f = compileFilter({
    vm: { include: { names: ['prod-.*'], paths: ['/DC2/vm/**'] }, exclude: { names: ['.*-scratch'] } },
    datastore: { exclude: { paths: ['/DC1/datastore/local-*'] } },
  });
  void it('keeps what an include pattern matches and no exclude pattern matches', () => {
    assert.equal(f.allows('vm', { name: 'prod-web' }), true);
    assert.equal(f.allows('vm', { name: 'dev-web', path: '/DC2/vm/a/dev-web' }), true);
    assert.equal(f.allows('vm', { name: 'dev-web', path: '/DC1/vm/dev-web' }), false);
    assert.equal(f.allows('vm', { name: 'prod-scratch' }), false);
    assert.equal(f.allows('datastore', { name: 'local-1', path: '/DC1/datastore/local-1' }), false);
    assert.equal(
      f.allows('datastore', { name: 'local-1' }),
      true,
      'unknown path: path patterns cannot match',
    );
    assert.equal(f.allows('host', { name: 'anything' }), true, 'kinds without filters keep everything');
  });
  void it('filterInventory drops VMs/hosts but keeps every host for VM labels', () => {
    const vm = (moid: string, name: string, host: string) => ({
      obj: { type: 'VirtualMachine', value: moid },
      props: new Map([
        ['name', { name: 'val', attrs: {}, text: name, children: [] }],
        ['summary.runtime.host', { name: 'val', attrs: { type: 'HostSystem' }, text: host, children: [] }],
      ]),
    });
    const host = (moid: string, name: string) => ({
      obj: { type: 'HostSystem', value: moid },
      props: new Map([['name', { name: 'val', attrs: {}, text: name, children: [] }]]),
    });
    const inv = buildInventory([
      vm('vm-1', 'prod-a', 'host-1'),
      vm('vm-2', 'dev-b', 'host-2'),
      host('host-1', 'h1'),
      host('host-2', 'h2'),
    ]);
    const g = compileFilter({
      vm: { include: { names: ['prod-.*'] } },
      host: { exclude: { names: ['h1'] } },
    });
    const out = filterInventory(inv, g);
    assert.deepEqual(
      out.vms.map((v) => v.moid),
      ['vm-1'],
    );
    assert.deepEqual(
      out.hosts.map((h) => h.moid),
      ['host-2'],
    );
    assert.equal(out.hostsByMoid.get('host-1')?.name, 'h1');
    assert.equal(filterInventory(inv, compileFilter({})), inv);
  });
});

void describe('filters config', () => {
  void it('is read from YAML and validated, naming the key and line', async () => {
    const env = { ...BASE_ENV, VSPHERE_PASSWORD: 'x' };
    const ok = tmp.write(
      'f.yml',
      'filters:\n  vm:\n    include:\n      names: ["prod-.*"]\n    exclude:\n      paths: ["/DC1/vm/tmp/**"]\n',
    );
    const c = await run(['--config.file', ok], env);
    assert.deepEqual(c.filters, {
      vm: { include: { names: ['prod-.*'] }, exclude: { paths: ['/DC1/vm/tmp/**'] } },
    });
    assert.deepEqual((await run([], env)).filters, {});
    await fails(
      ['--config.file', tmp.write('r.yml', 'filters:\n  vm:\n    include:\n      names: ["prod-("]\n')],
      env,
      /filters\.vm\.include\.names\.0.*line 4.*not a valid regular expression/,
    );
    await fails(
      ['--config.file', tmp.write('p.yml', 'filters:\n  host:\n    exclude:\n      paths: ["DC1/host"]\n')],
      env,
      /filters\.host\.exclude\.paths\.0.*starting with "\/"/,
    );
    await fails(['--config.file', tmp.write('k.yml', 'filters:\n  vms: {}\n')], env, /filters\.vms/);
    await fails(
      ['--config.file', tmp.write('t.yml', 'filters:\n  alarm:\n    include: {names: [x]}\n')],
      env,
      /filters\.alarm/,
    );
  });
});
