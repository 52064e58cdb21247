import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ConfigError, HELP_TEXT, loadConfig, readPassword, VERSION } from '../../../src/config/load.js';
import { BASE_ENV, CA_PEM, fails, run, TempDir } from './helpers.js';
import { COLLECTOR_DEFAULTS } from '../../../src/model/names.js';

const tmp = new TempDir();
const write = tmp.write.bind(tmp);
let pwFile = '';
before(() => {
  pwFile = write('pw', 'hunter2\n');
  write('ca.pem', CA_PEM);
});

void describe('loadConfig: sources and precedence', () => {
  void it('applies defaults', async () => {
    const c = await run([], { ...BASE_ENV, VSPHERE_PASSWORD_FILE: pwFile });
    assert.equal(c.vsphere!.url.href, 'https://vc.example.com/sdk');
    assert.equal(c.vsphere!.passwordFile, pwFile);
    assert.equal(c.vsphere!.password, undefined);
    assert.deepEqual(
      [c.vsphere!.maxConnections, c.vsphere!.connectTimeoutMs, c.vsphere!.requestTimeoutMs],
      [4, 10_000, 60_000],
    );
    assert.deepEqual([c.vsphere!.maxResponseBytes, c.vsphere!.keepaliveIntervalMs], [33554432, 300_000]);
    assert.equal(c.vsphere!.inventoryTimeoutMs, 600_000, 'a full inventory read may take 10 minutes');
    assert.equal(c.vsphere!.perfConcurrency, undefined, 'the connection pool size');
    assert.equal(c.vsphere!.perfBatchObjects, undefined, '256 objects per realtime QueryPerf');
    assert.equal(c.vsphere!.insecureSkipVerify, false);
    assert.ok(!('maxQueryMetrics' in c.vsphere!));
    assert.deepEqual(c.web, { listenAddress: ':9272', telemetryPath: '/metrics', maxRequests: 64 });
    assert.deepEqual(c.scrape, {
      timeoutSeconds: 10,
      timeoutOffsetSeconds: 0.5,
      maxTimeoutSeconds: 120,
      collection: 'on-scrape',
      intervalSeconds: 20,
      collectionTimeoutSeconds: 60,
    });
    assert.deepEqual(c.log, { level: 'info', format: 'logfmt' });
    assert.deepEqual(c.collectors, COLLECTOR_DEFAULTS);
    assert.equal(c.configFile, undefined);
  });

  void it('reads every key from YAML and converts seconds to milliseconds', async () => {
    const file = write(
      'full.yml',
      `vsphere:
  url: http://vc.lab:8080/
  user: ro@vsphere.local
  password_file: pw
  ca_file: ca.pem
  server_name: vcenter.lab
  insecure_skip_verify: false
  max_connections: 8
  connect_timeout_seconds: 2.5
  request_timeout_seconds: 30
  max_response_bytes: 1048576
  keepalive_interval_seconds: 10
  perf_concurrency: 2
  perf_batch_objects: 100
  max_query_metrics: 64
  inventory_timeout_seconds: 90.5
web:
  listen_address: "127.0.0.1:9000"
  telemetry_path: /vsphere
  max_requests: 8
scrape:
  timeout_seconds: 20
  max_timeout_seconds: 90
  timeout_offset_seconds: 0
  collection: background
  interval_seconds: 30
  collection_timeout_seconds: 45
log:
  level: debug
  format: json
collectors:
  vm: false
`,
    );
    const c = await run(['--config.file', file], {});
    assert.equal(c.vsphere!.url.href, 'http://vc.lab:8080/sdk');
    // Paths in the file are relative to the file's directory.
    assert.equal(c.vsphere!.passwordFile, pwFile);
    assert.equal(c.vsphere!.caFile, path.join(tmp.dir, 'ca.pem'));
    assert.equal(c.vsphere!.serverName, 'vcenter.lab');
    assert.equal(c.vsphere!.insecureSkipVerify, false);
    assert.deepEqual(
      [c.vsphere!.maxConnections, c.vsphere!.connectTimeoutMs, c.vsphere!.requestTimeoutMs],
      [8, 2500, 30_000],
    );
    assert.deepEqual(
      [
        c.vsphere!.keepaliveIntervalMs,
        c.vsphere!.perfConcurrency,
        c.vsphere!.perfBatchObjects,
        c.vsphere!.maxQueryMetrics,
      ],
      [10_000, 2, 100, 64],
    );
    assert.equal(c.vsphere!.inventoryTimeoutMs, 90_500);
    assert.deepEqual(c.web, { listenAddress: '127.0.0.1:9000', telemetryPath: '/vsphere', maxRequests: 8 });
    assert.deepEqual(c.scrape, {
      timeoutSeconds: 20,
      timeoutOffsetSeconds: 0,
      maxTimeoutSeconds: 90,
      collection: 'background',
      intervalSeconds: 30,
      collectionTimeoutSeconds: 45,
    });
    assert.deepEqual(c.log, { level: 'debug', format: 'json' });
    assert.deepEqual(c.collectors, { ...COLLECTOR_DEFAULTS, vm: false });
    assert.equal(c.configFile, file);
  });

  void it('yaml < env < flags', async () => {
    const file = write(
      'prec.yml',
      `vsphere: {url: "https://from-yaml", user: yaml-user, password_file: ${pwFile}, insecure_skip_verify: true}
web: {listen_address: ":1111", telemetry_path: /yaml}
log: {level: warn, format: json}
`,
    );
    const env = { VSPHERE_URL: 'https://from-env/custom', VSPHERE_INSECURE_SKIP_VERIFY: 'No' };
    const c = await run(['--config.file', file, '--web.listen-address', ':2222', '--log.level=error'], env);
    assert.equal(c.vsphere!.url.href, 'https://from-env/custom');
    assert.equal(c.vsphere!.user, 'yaml-user');
    assert.equal(c.vsphere!.insecureSkipVerify, false);
    assert.deepEqual(c.web, { listenAddress: ':2222', telemetryPath: '/yaml', maxRequests: 64 });
    assert.deepEqual(c.log, { level: 'error', format: 'json' });
  });

  void it('scrape.timeout_seconds and max_timeout_seconds from variables and flags (yaml < env < flags)', async () => {
    const file = write('scrape.yml', 'scrape: {timeout_seconds: 5, max_timeout_seconds: 60}\n');
    const env = { ...BASE_ENV, VSPHERE_PASSWORD: 'p' };
    const fromEnv = await run(['--config.file', file], {
      ...env,
      VSPHERE_SCRAPE_TIMEOUT_SECONDS: '45',
      VSPHERE_SCRAPE_MAX_TIMEOUT_SECONDS: '300',
    });
    assert.deepEqual([fromEnv.scrape.timeoutSeconds, fromEnv.scrape.maxTimeoutSeconds], [45, 300]);
    const fromFlags = await run(
      ['--config.file', file, '--scrape.timeout-seconds=2.5', '--scrape.max-timeout-seconds', '30'],
      { ...env, VSPHERE_SCRAPE_TIMEOUT_SECONDS: '45' },
    );
    assert.deepEqual([fromFlags.scrape.timeoutSeconds, fromFlags.scrape.maxTimeoutSeconds], [2.5, 30]);
    await fails(
      [],
      { ...env, VSPHERE_SCRAPE_TIMEOUT_SECONDS: 'ten' },
      /^config error: VSPHERE_SCRAPE_TIMEOUT_SECONDS: expected a number of seconds > 0 and <= 86400/,
    );
    await fails(
      ['--scrape.timeout-seconds=0'],
      env,
      /^config error: --scrape.timeout-seconds: expected a number of seconds > 0 and <= 86400/,
    );
    await fails(
      ['--scrape.timeout-seconds=200'],
      env,
      "config error: --scrape.timeout-seconds: 200 is above scrape.max_timeout_seconds (120), which caps every scrape's deadline",
    );
    assert.match(HELP_TEXT, /--scrape\.timeout-seconds/);
    assert.match(HELP_TEXT, /VSPHERE_SCRAPE_TIMEOUT_SECONDS/);
  });

  void it('scrape.collection_timeout_seconds: within scrape.max_timeout_seconds (the default is held to it; an explicit value above it is refused)', async () => {
    const env = { ...BASE_ENV, VSPHERE_PASSWORD_FILE: pwFile };
    const small = await run(['--scrape.max-timeout-seconds=4', '--scrape.timeout-seconds=2'], env);
    assert.equal(small.scrape.collectionTimeoutSeconds, 4);
    const set = write('run-on.yml', 'scrape:\n  collection_timeout_seconds: 90\n');
    assert.equal((await run(['--config.file', set], env)).scrape.collectionTimeoutSeconds, 90);
    await fails(
      ['--config.file', set, '--scrape.max-timeout-seconds=30'],
      env,
      /collection_timeout_seconds in .*run-on\.yml line 2: 90 is above --scrape\.max-timeout-seconds \(30\), which caps every collection/,
    );
    const zero = write('run-on-0.yml', 'scrape:\n  collection_timeout_seconds: 0\n');
    await fails(
      ['--config.file', zero],
      env,
      /collection_timeout_seconds in .*line 2: expected a number of seconds > 0 and <= 86400/,
    );
  });

  void it('a higher layer password replaces a lower layer password_file, and vice versa', async () => {
    const withFile = write('pwf.yml', `vsphere: {password_file: ${pwFile}}\n`);
    const a = await run(['--config.file', withFile], { ...BASE_ENV, VSPHERE_PASSWORD: 'env-pw' });
    assert.equal(a.vsphere!.password?.reveal(), 'env-pw');
    assert.equal(a.vsphere!.passwordFile, undefined);

    const withPw = write('pw.yml', 'vsphere: {password: yaml-pw}\n');
    const b = await run(['--config.file', withPw], { ...BASE_ENV, VSPHERE_PASSWORD_FILE: pwFile });
    assert.equal(b.vsphere!.password, undefined);
    assert.equal(b.vsphere!.passwordFile, pwFile);
  });

  void it('treats empty variables and empty YAML keys/sections as unset', async () => {
    const file = write('nulls.yml', 'vsphere:\n  ca_file:\ncollectors:\n');
    const c = await run(['--config.file', file], { ...BASE_ENV, VSPHERE_PASSWORD: 'p', VSPHERE_CA_FILE: '' });
    assert.equal(c.vsphere!.caFile, undefined);
    const empty = write('empty.yml', '');
    await run(['--config.file', empty], { ...BASE_ENV, VSPHERE_PASSWORD: 'p' });
  });

  void it('parses VSPHERE_INSECURE_SKIP_VERIFY case-insensitively', async () => {
    for (const [v, want] of [
      ['TRUE', true],
      ['1', true],
      ['Yes', true],
      ['false', false],
      ['0', false],
    ] as const) {
      const c = await run([], { ...BASE_ENV, VSPHERE_PASSWORD: 'p', VSPHERE_INSECURE_SKIP_VERIFY: v });
      assert.equal(c.vsphere!.insecureSkipVerify, want, v);
    }
  });
});

void describe('loadConfig: flags', () => {
  void it('returns help for --help and -h, version for --version', async () => {
    assert.deepEqual(await loadConfig(['--help'], {}), { kind: 'help', text: HELP_TEXT });
    assert.deepEqual(await loadConfig(['-h', '--web.listen-address', ':1'], {}), {
      kind: 'help',
      text: HELP_TEXT,
    });
    assert.deepEqual(await loadConfig(['--version'], {}), { kind: 'version' });
    for (const s of [
      '--config.file',
      '--web.listen-address',
      '--log.format',
      'VSPHERE_PASSWORD_FILE',
      'VSPHERE_URL',
    ]) {
      assert.ok(HELP_TEXT.includes(s), s);
    }
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(VERSION, pkg.version);
  });

  void it('rejects unknown flags, positionals and missing values', async () => {
    await fails(['--nope'], BASE_ENV, "config error: Unknown option '--nope' (see --help)");
    await fails(['extra'], BASE_ENV, "config error: Unexpected argument 'extra' (see --help)");
    await fails(['--log.level'], BASE_ENV, /^config error: Option '--log.level <value>' argument missing/);
  });

  void it('has no password flag and does not echo its value', async () => {
    await assert.rejects(loadConfig(['--vsphere.password=hunter2'], BASE_ENV), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(!err.message.includes('hunter2'));
      return true;
    });
  });

  void it('validates flag values naming the flag', async () => {
    await fails(
      ['--log.level', 'verbose'],
      BASE_ENV,
      'config error: --log.level: expected one of debug, info, warn, error, got "verbose"',
    );
    await fails(
      ['--web.telemetry-path=metrics'],
      BASE_ENV,
      /^config error: --web.telemetry-path: expected a path/,
    );
    await fails(
      ['--web.listen-address=9272'],
      BASE_ENV,
      /^config error: --web.listen-address: expected \[host\]:port/,
    );
  });
  void it('--collector.<name> and --no-collector.<name> override the YAML collectors section', async () => {
    const file = write('collectors.yml', 'collectors:\n  vm: false\n  tag: false\n');
    const env = { ...BASE_ENV, VSPHERE_PASSWORD: 'x' };
    const c = await run(
      ['--config.file', file, '--collector.vm', '--collector.tag', '--no-collector.alarm'],
      env,
    );
    assert.deepEqual(c.collectors, { ...COLLECTOR_DEFAULTS, vm: true, tag: true, alarm: false });
    await fails(
      ['--collector.vm', '--no-collector.vm'],
      env,
      'config error: --collector.vm and --no-collector.vm contradict each other; give one',
    );
    await fails(['--collector.nosuch'], env, /^config error: Unknown option '--collector.nosuch'/);
    await fails(
      ['--config.file', write('bad-collector.yml', 'collectors:\n  vms: true\n')],
      env,
      /collectors.vms/,
    );
  });
});

void describe('readPassword', () => {
  void it('re-reads the file at every call and trims exactly one trailing newline', async () => {
    const file = write('rotating', 'first\n');
    const c = await run([], { ...BASE_ENV, VSPHERE_PASSWORD_FILE: file });
    assert.equal((await readPassword(c.vsphere!)).reveal(), 'first');
    fs.writeFileSync(file, 'second\r\n');
    assert.equal((await readPassword(c.vsphere!)).reveal(), 'second');
    fs.writeFileSync(file, ' spaced \n\n');
    assert.equal((await readPassword(c.vsphere!)).reveal(), ' spaced \n');
    fs.rmSync(file);
    await assert.rejects(
      readPassword(c.vsphere!),
      (err: unknown) => err instanceof ConfigError && /ENOENT/.test(err.message),
    );
    fs.writeFileSync(file, 'fixed');
    assert.equal((await readPassword(c.vsphere!)).reveal(), 'fixed');
  });

  void it('returns an inline password as is', async () => {
    const c = await run([], { ...BASE_ENV, VSPHERE_PASSWORD: 'inline' });
    assert.equal((await readPassword(c.vsphere!)).reveal(), 'inline');
  });
});
