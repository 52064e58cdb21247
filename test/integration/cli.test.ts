import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runExporterOnce, startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';

const env = { VSPHERE_URL: 'http://127.0.0.1:1/sdk', VSPHERE_USER: 'u', VSPHERE_PASSWORD: 'p' };

/** Asserts a one-line config error naming `pattern`, exit code 2 and no stack trace. */
function assertConfigError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('command line', () => {
  test('--version and --help exit 0', async () => {
    const v = await runExporterOnce(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^vsphere-exporter \d+\.\d+\.\d+/);
    const h = await runExporterOnce(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--web\.listen-address/);
    assert.match(h.stdout, /VSPHERE_PASSWORD_FILE/);
  });

  test('bad configuration exits 2 with one clear message naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-cli-'));
    try {
      const file = join(dir, 'c.yml');
      writeFileSync(file, 'vsphere:\n  url: http://127.0.0.1:1\n  user: u\n  pasword: x\n');
      assertConfigError(await runExporterOnce(['--config.file', file], {}), /vsphere\.pasword.*line 4/);
      writeFileSync(file, 'vsphere:\n  max_connections: many\n');
      assertConfigError(
        await runExporterOnce(['--config.file', file], env),
        /vsphere\.max_connections.*line 2/,
      );
      assertConfigError(
        await runExporterOnce([], { VSPHERE_USER: 'u', VSPHERE_PASSWORD: 'p' }),
        /VSPHERE_URL/,
      );
      assertConfigError(
        await runExporterOnce([], { VSPHERE_URL: 'http://127.0.0.1:1', VSPHERE_PASSWORD: 'p' }),
        /VSPHERE_USER/,
      );
      assertConfigError(
        await runExporterOnce([], {
          VSPHERE_URL: 'http://127.0.0.1:1',
          VSPHERE_USER: 'u',
          VSPHERE_PASSWORD_FILE: join(dir, 'missing'),
        }),
        /VSPHERE_PASSWORD_FILE.*ENOENT/,
      );
      assertConfigError(await runExporterOnce(['--no-such-flag'], env), /no-such-flag/);
      assertConfigError(
        await runExporterOnce(['--config.file', join(dir, 'absent.yml')], env),
        /absent\.yml/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a port already in use is reported without a stack trace', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const r = await runExporterOnce([`--web.listen-address=127.0.0.1:${port}`], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot listen/);
      assert.match(r.stderr, /EADDRINUSE/);
    } finally {
      srv.close();
    }
  });

  test('a YAML alias bomb and a ca_file that is not PEM exit 2 with a config error, not 1 with fatal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-cli-'));
    try {
      const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
      for (const [prev, name] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh']) {
        levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
      }
      const bomb = join(dir, 'bomb.yml');
      writeFileSync(bomb, `${levels.join('\n')}\n`);
      const r = await runExporterOnce(['--config.file', bomb], env);
      assertConfigError(r, /^config error: invalid YAML in .*bomb\.yml: .*alias/i);
      assert.doesNotMatch(r.stderr, /fatal/);

      const der = join(dir, 'ca.der');
      writeFileSync(der, Buffer.from([0x30, 0x82, 0x01, 0x9c, 0x30, 0x82, 0x01, 0x43]));
      assertConfigError(
        await runExporterOnce([], { ...env, VSPHERE_CA_FILE: der }),
        /^config error: VSPHERE_CA_FILE: .*ca\.der holds no PEM certificate/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Opening a FIFO for reading waits for a writer in libuv's thread pool; a process with a pool
  // thread stuck there cannot even exit, so before the fix the exporter hung at start, and a FIFO
  // swapped in later wedged reload and login and SIGTERM no longer ended the process.
  test('a password file that is a FIFO at start: exit 2 with a config error naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-cli-'));
    try {
      const fifo = join(dir, 'pw-fifo');
      execFileSync('mkfifo', [fifo]);
      assertConfigError(
        await runExporterOnce([], { ...env, VSPHERE_PASSWORD: '', VSPHERE_PASSWORD_FILE: fifo }),
        /^config error: VSPHERE_PASSWORD_FILE: .*pw-fifo is a named pipe \(FIFO\), not a regular file\n$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a password file swapped for a FIFO while running: reload and login refuse it, SIGTERM still ends the process', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-cli-'));
    let exporter: ExporterProcess | undefined;
    try {
      const file = join(dir, 'c.yml');
      writeFileSync(join(dir, 'pw'), 'p\n', { mode: 0o600 });
      writeFileSync(file, 'vsphere:\n  url: http://127.0.0.1:1\n  user: u\n  password_file: pw\n');
      exporter = await startExporter({ args: ['--config.file', file], waitReady: false });
      const ex = exporter;
      rmSync(join(dir, 'pw'));
      execFileSync('mkfifo', [join(dir, 'pw')]);
      ex.signal('SIGHUP');
      const refused = await waitForLog(
        ex,
        (l) => l.msg === 'config reload failed; keeping the running config',
      );
      assert.match(
        String(refused.error),
        /vsphere\.password_file in .*c\.yml line 4: .*pw is a named pipe \(FIFO\)/,
      );
      const res = await ex.scrape('/metrics', { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
      assert.equal(res.status, 200);
      const error = find(parsePrometheusText(res.text).samples, 'vsphere_last_error_info')[0]?.labels;
      t.diagnostic(`scrape after the swap: ${JSON.stringify(error)}`);
      assert.equal(error?.code, 'VSPHERE_PASSWORD_UNREADABLE');
      assert.match(error?.message ?? '', /vsphere\.password_file: .*pw is a named pipe \(FIFO\)/);

      const t0 = performance.now();
      ex.signal('SIGTERM');
      const exit = await Promise.race([ex.exited, sleep(15_000, undefined, { ref: false })]);
      t.diagnostic(`SIGTERM to exit: ${(performance.now() - t0).toFixed(0)} ms`);
      assert.ok(exit, 'the exporter exited within 15 s of SIGTERM');
      assert.equal(exit.code, 0);
      assert.ok(
        ex.logs.some((l) => l.msg === 'stopped'),
        'shutdown completed ("stopped" logged)',
      );
    } finally {
      await exporter?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The first log entry that `match` accepts, waiting up to 10 s for it. */
async function waitForLog(
  ex: ExporterProcess,
  match: (entry: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
    const entry = ex.logs.find(match);
    if (entry) return entry;
  }
  throw new Error(
    `no such log line within 10 s; last lines:\n${ex.logs
      .slice(-10)
      .map((l) => JSON.stringify(l))
      .join('\n')}`,
  );
}
