import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ConfigError, readPassword } from '../../../src/config/load.js';
import { COLLECTOR_DEFAULTS } from '../../../src/model/names.js';
import { CA_PEM, fails, run, TempDir } from './helpers.js';

const tmp = new TempDir();
let pw = '';
before(() => {
  pw = tmp.write('pw', 'secret\n');
  tmp.write('eu-ca.pem', CA_PEM);
});

void describe('targets', () => {
  void it('lists named targets beside the vsphere section ("default"), each with its own settings', async () => {
    const file = tmp.write(
      't.yml',
      `vsphere: {url: "https://vc0", user: u0, password_file: pw}
collectors: {alarm: false}
filters: {vm: {exclude: {names: [tmp-.*]}}}
targets:
  - name: eu
    url: https://vc-eu.example.com
    user: ro@vsphere.local
    password_file: pw
    ca_file: eu-ca.pem
    server_name: vcenter.eu
    collectors: {tag: true}
  - name: lab-esx
    url: https://10.0.0.5
    user: root
    password_env: LAB_PASSWORD
    insecure_skip_verify: true
    filters: {}
default_target: eu
`,
    );
    const c = await run(['--config.file', file], { LAB_PASSWORD: 'x' });
    assert.deepEqual(
      c.targets.map((t) => t.name),
      ['default', 'eu', 'lab-esx'],
    );
    assert.equal(c.defaultTarget, 'eu');
    const [def, eu, lab] = c.targets;
    assert.equal(def!.vsphere, c.vsphere);
    assert.equal(eu!.vsphere.url.href, 'https://vc-eu.example.com/sdk');
    assert.equal(eu!.vsphere.passwordFile, pw);
    assert.equal(eu!.vsphere.caFile, path.join(tmp.dir, 'eu-ca.pem'));
    assert.equal(eu!.vsphere.serverName, 'vcenter.eu');
    assert.deepEqual(eu!.collectors, { ...COLLECTOR_DEFAULTS, alarm: false, tag: true });
    assert.deepEqual(eu!.filters, { vm: { exclude: { names: ['tmp-.*'] } } });
    assert.deepEqual(lab!.filters, {});
    assert.equal(lab!.vsphere.insecureSkipVerify, true);
    assert.equal((await readPassword(lab!.vsphere, { LAB_PASSWORD: 'rotated' })).reveal(), 'rotated');
  });

  void it('needs no vsphere section when targets are listed; /metrics then has no default target', async () => {
    const file = tmp.write(
      'only.yml',
      `targets: [{name: a, url: "https://a", user: u, password_file: pw}]\n`,
    );
    const c = await run(['--config.file', file], {});
    assert.equal(c.vsphere, undefined);
    assert.equal(c.defaultTarget, undefined);
    assert.deepEqual(
      c.targets.map((t) => t.name),
      ['a'],
    );
  });

  void it('rejects duplicate or bad names, missing keys, unknown defaults and contradictions, naming each key', async () => {
    const cases: [string, RegExp][] = [
      [
        `targets: [{name: a, url: "https://a", user: u, password_file: pw}, {name: a, url: "https://b", user: u, password_file: pw}]`,
        /targets\.1\.name in .* line 1: target name "a" is used twice/,
      ],
      [
        `vsphere: {url: "https://v", user: u, password_file: pw}\ntargets: [{name: default, url: "https://b", user: u, password_file: pw}]`,
        /"default" is the vsphere section's target/,
      ],
      [
        `targets: [{name: "a b", url: "https://a", user: u, password_file: pw}]`,
        /targets\.0\.name.*expected a target name/,
      ],
      [`targets: [{name: a, user: u, password_file: pw}]`, /targets\.0\.url in .*: required/],
      [`targets: [{name: a, url: "https://a", user: u}]`, /targets\.0\.password_file .*: required/],
      [
        `targets: [{name: a, url: "https://a", user: u, password_file: pw, password_env: X}]`,
        /targets\.0\.password_file .* and targets\.0\.password_env .* are mutually exclusive/,
      ],
      [
        `targets: [{name: a, url: "https://a", user: u, password_file: pw, insecure_skip_verify: true, ca_file: ca}]`,
        /targets\.0\.insecure_skip_verify .* contradicts targets\.0\.ca_file/,
      ],
      [
        `targets: [{name: a, url: "https://a", user: u, password_file: pw}]\ndefault_target: b`,
        /default_target .*: no target named "b"/,
      ],
      [
        `targets: [{name: a, url: "https://a", user: u, password_env: NOT_SET_HERE}]`,
        /targets\.0\.password_env .*: environment variable NOT_SET_HERE is not set/,
      ],
      [
        `targets: [{name: a, url: "https://a", user: u, password_file: pw, colectors: {}}]`,
        /unknown key targets\.0\.colectors/,
      ],
      [
        `targets: [{name: a, url: "https://user:pw@a", user: u, password_file: pw}]`,
        /targets\.0\.url .*must not contain credentials/,
      ],
    ];
    for (const [yaml, want] of cases) {
      await fails(['--config.file', tmp.write('bad.yml', `${yaml}\n`)], {}, want);
    }
  });

  void it('names the target, not the vsphere section, when its password file or variable fails at login', async () => {
    const file = tmp.write('pwfile', 'x\n');
    const c = await run(
      [
        '--config.file',
        tmp.write(
          'names.yml',
          `vsphere: {url: "https://v", user: u, password_file: pw}
targets:
  - {name: a, url: "https://a", user: u, password_file: pw}
  - {name: eu, url: "https://b", user: u, password_file: pwfile}
  - {name: lab, url: "https://c", user: u, password_env: LAB_PW}
`,
        ),
      ],
      { LAB_PW: 'x' },
    );
    const [def, , eu, lab] = c.targets;
    fs.rmSync(file);
    const failure = async (p: Promise<unknown>): Promise<string> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConfigError, String(err));
      return err.message;
    };
    assert.equal(
      await failure(readPassword(eu!.vsphere, {})),
      `config error: targets[eu].password_file: cannot read ${file}: ENOENT: no such file or directory`,
    );
    assert.equal(
      await failure(readPassword(lab!.vsphere, {})),
      'config error: targets[lab].password_env: LAB_PW is not set',
    );
    fs.rmSync(pw);
    try {
      assert.match(await failure(readPassword(def!.vsphere, {})), /^config error: vsphere\.password_file: /);
    } finally {
      tmp.write('pw', 'secret\n');
    }
  });
});
