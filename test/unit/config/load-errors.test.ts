import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { BASE_ENV, fails, TempDir } from './helpers.js';

const tmp = new TempDir();
const write = tmp.write.bind(tmp);

void describe('loadConfig: errors', () => {
  void it('reports an unknown key with its line', async () => {
    const file = write('unknown.yml', 'vsphere:\n  url: https://vc\n  user: u\n  pasword: x\n');
    await fails(['--config.file', file], {}, `config error: unknown key vsphere.pasword in ${file} line 4`);
  });

  void it('reports a wrong type naming the key, line and value', async () => {
    const file = write(
      'type.yml',
      'vsphere:\n  url: https://vc\n  user: u\n\n# pool\n\n  max_connections: four\n',
    );
    await fails(
      ['--config.file', file],
      {},
      `config error: vsphere.max_connections in ${file} line 7: expected an integer between 1 and 64, got "four"`,
    );
  });

  void it('bounds vsphere.inventory_timeout_seconds (a full read needs time, but not forever)', async () => {
    const file = write('inv.yml', 'vsphere:\n  url: https://vc\n  user: u\n  inventory_timeout_seconds: 5\n');
    await fails(
      ['--config.file', file],
      {},
      `config error: vsphere.inventory_timeout_seconds in ${file} line 4: expected a number of seconds between 10 and 86400, got 5`,
    );
  });

  void it('reports each problem on its own line', async () => {
    const file = write('multi.yml', 'vsphere:\n  perf_concurrency: 0\nweb:\n  telemetry_path: /\nbogus: 1\n');
    await assert.rejects(loadConfig(['--config.file', file], {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.message.split('\n'), [
        `config error: vsphere.perf_concurrency in ${file} line 2: expected an integer between 1 and 32, got 0`,
        `config error: web.telemetry_path in ${file} line 4: expected a path starting with "/", e.g. "/metrics", other than "/" and /probe, /-/healthy, /-/ready, /-/reload, /favicon.ico, got "/"`,
        `config error: unknown key bogus in ${file} line 5`,
      ]);
      return true;
    });
  });

  void it('never echoes a password value in a type error', async () => {
    const file = write('pwtype.yml', 'vsphere:\n  password: [hunter2]\n');
    await fails(
      ['--config.file', file],
      {},
      `config error: vsphere.password in ${file} line 2: expected a non-empty string`,
    );
  });

  void it('never echoes a section or target written as one string (it may carry the password)', async () => {
    const target = write('tstr.yml', 'targets:\n  - "name: b url: https://vc password: hunter2-inline"\n');
    await fails(
      ['--config.file', target],
      {},
      `config error: targets.0 in ${target} line 2: expected a mapping, got a string`,
    );
    const section = write('vstr.yml', 'vsphere: "url: https://vc password: hunter2-inline"\n');
    await fails(
      ['--config.file', section],
      {},
      `config error: vsphere in ${section} line 1: expected a mapping, got a string`,
    );
    const list = write('lstr.yml', 'targets: "name: b password: hunter2-inline"\n');
    await fails(
      ['--config.file', list],
      {},
      `config error: targets in ${list} line 1: expected a list of targets, got a string`,
    );
  });

  void it('refuses a telemetry path that would shadow a path the exporter serves itself', async () => {
    for (const p of ['/probe', '/-/healthy', '/-/ready', '/-/reload', '/favicon.ico']) {
      const file = write('tp.yml', `web:\n  telemetry_path: ${p}\n`);
      await fails(
        ['--config.file', file],
        {},
        new RegExp(`web\\.telemetry_path in .* line 2: .*, got "${p}"$`),
      );
    }
  });

  void it('bounds every duration by a day (Node fires a timer past ~24.8 days after 1 ms)', async () => {
    for (const [section, key] of [
      ['scrape', 'timeout_seconds'],
      ['scrape', 'max_timeout_seconds'],
      ['scrape', 'collection_timeout_seconds'],
      ['scrape', 'timeout_offset_seconds'],
      ['vsphere', 'connect_timeout_seconds'],
      ['vsphere', 'request_timeout_seconds'],
      ['vsphere', 'keepalive_interval_seconds'],
    ] as const) {
      const file = write('dur.yml', `${section}:\n  ${key}: 3000000\n`);
      await fails(
        ['--config.file', file],
        {},
        new RegExp(`${section}\\.${key} in .* line 2: .*86400, got 3000000$`),
      );
    }
  });

  void it('reports YAML syntax errors and duplicate keys with line and column', async () => {
    const dup = write('dup.yml', 'vsphere:\n  url: https://a\n  url: https://b\n');
    await fails(
      ['--config.file', dup],
      {},
      /^config error: invalid YAML in .*dup\.yml line 3 column 3: Map keys must be unique$/,
    );
    const syntax = write('syntax.yml', 'vsphere:\n  url: [https://a\n');
    await fails(
      ['--config.file', syntax],
      {},
      /^config error: invalid YAML in .*syntax\.yml line \d+ column \d+: /,
    );
    const list = write('list.yml', '- a\n- b\n');
    await fails(['--config.file', list], {}, `config error: ${list}: expected a mapping, got a list`);
  });

  void it('reports an unreadable config file', async () => {
    const missing = path.join(tmp.dir, 'nope.yml');
    await fails(
      ['--config.file', missing],
      {},
      `config error: --config.file: cannot read ${missing}: ENOENT: no such file or directory`,
    );
  });

  void it('requires url, user and a password source', async () => {
    await assert.rejects(loadConfig([], {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        'vsphere.url (or VSPHERE_URL) is required',
        'vsphere.user (or VSPHERE_USER) is required',
        'vsphere.password_file (or VSPHERE_PASSWORD_FILE) or vsphere.password (or VSPHERE_PASSWORD) is required',
      ]);
      return true;
    });
    await fails(
      [],
      { VSPHERE_URL: 'https://vc', VSPHERE_PASSWORD: 'p' },
      'config error: vsphere.user (or VSPHERE_USER) is required',
    );
  });

  void it('rejects password and password_file set in the same layer', async () => {
    const env = { ...BASE_ENV, VSPHERE_PASSWORD: 'p', VSPHERE_PASSWORD_FILE: write('pw', 'x') };
    await fails([], env, /VSPHERE_PASSWORD and VSPHERE_PASSWORD_FILE are mutually exclusive/);
  });

  void it('rejects bad environment values naming the variable', async () => {
    await fails(
      [],
      { ...BASE_ENV, VSPHERE_PASSWORD: 'p', VSPHERE_INSECURE_SKIP_VERIFY: 'maybe' },
      'config error: VSPHERE_INSECURE_SKIP_VERIFY: expected true, false, 1, 0, yes or no, got "maybe"',
    );
    await fails(
      [],
      { VSPHERE_URL: 'vc.example.com' },
      /^config error: VSPHERE_URL: not a valid URL: "vc.example.com"/,
    );
    await fails(
      [],
      { VSPHERE_URL: 'https://u:hunter2@vc' },
      /^config error: VSPHERE_URL: must not contain credentials[^\n]*$/,
    );
  });

  void it('reports a missing or unreadable password file with the OS reason', async () => {
    const missing = path.join(tmp.dir, 'missing-pw');
    await fails(
      [],
      { ...BASE_ENV, VSPHERE_PASSWORD_FILE: missing },
      `config error: VSPHERE_PASSWORD_FILE: cannot read ${missing}: ENOENT: no such file or directory`,
    );
    // Tests run as root, so EACCES cannot be provoked; a directory is refused before any read.
    await fails(
      [],
      { ...BASE_ENV, VSPHERE_PASSWORD_FILE: tmp.dir },
      `config error: VSPHERE_PASSWORD_FILE: ${tmp.dir} is a directory, not a regular file`,
    );
    const file = write(
      'missing-pw.yml',
      'vsphere:\n  url: https://vc\n  user: u\n  password_file: missing-pw\n',
    );
    await fails(
      ['--config.file', file],
      {},
      new RegExp(`^config error: vsphere.password_file in .* line 4: cannot read ${missing}: ENOENT`),
    );
    const empty = write('empty-pw', '\n');
    await fails(
      [],
      { ...BASE_ENV, VSPHERE_PASSWORD_FILE: empty },
      `config error: VSPHERE_PASSWORD_FILE: ${empty} is empty`,
    );
  });
});
