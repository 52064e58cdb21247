import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExporterOnce } from '../harness/exporter.js';

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
});
