/**
 * Operator mistakes and hostile config files that must end in a `config error:` (exit 2) at once:
 * a password or CA file that is not a regular file (a FIFO would block the read forever), a CA file
 * without a usable certificate, a YAML alias bomb, and credentials in the URL whatever they contain.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, readPassword } from '../../../src/config/load.js';
import { passwordSource } from '../../../src/config/password-source.js';
import { BASE_ENV, CA_PEM, fails, run, TempDir } from './helpers.js';

const tmp = new TempDir();
const write = tmp.write.bind(tmp);

/** A named pipe nobody writes to: before the fix, reading it as a password file never returned. */
function makeFifo(name: string): string {
  const file = path.join(tmp.dir, name);
  execFileSync('mkfifo', [file]);
  return file;
}

/** Opens the FIFO's write end once, so a reader stuck in open() (the old code) is let go. */
function releaseReaders(fifo: string): void {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch {
    // ENXIO: nobody is reading, which is the point.
  }
}

/** The error message `load` ends with, or a note that it is still waiting on `fifo` after 5 s. */
async function outcome(load: Promise<unknown>, fifo: string): Promise<string> {
  try {
    return await Promise.race([
      load.then(
        () => 'loaded',
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still reading after 5 s'), 5000).unref()),
    ]);
  } finally {
    releaseReaders(fifo);
  }
}

void describe('password and CA files that are not regular files', () => {
  void it('refuses a FIFO as password file with a config error instead of waiting for a writer', async () => {
    const fifo = makeFifo('pw-fifo');
    assert.equal(
      await outcome(loadConfig([], { ...BASE_ENV, VSPHERE_PASSWORD_FILE: fifo }), fifo),
      `config error: VSPHERE_PASSWORD_FILE: ${fifo} is a named pipe (FIFO), not a regular file`,
    );
  });

  void it('refuses a FIFO in a targets entry, naming that entry', async () => {
    const fifo = makeFifo('target-fifo');
    const file = write(
      'fifo-target.yml',
      `targets:\n  - name: a\n    url: https://a\n    user: u\n    password_file: ${fifo}\n`,
    );
    assert.equal(
      await outcome(loadConfig(['--config.file', file], {}), fifo),
      `config error: targets.0.password_file in ${file} line 5: ${fifo} is a named pipe (FIFO), not a regular file`,
    );
  });

  void it('refuses a FIFO swapped in after start when the target logs in, naming the target', async () => {
    const pw = write('swapped-pw', 'p\n');
    const file = write(
      'swap.yml',
      `targets:\n  - {name: eu, url: "https://a", user: u, password_file: swapped-pw}\n`,
    );
    const c = await run(['--config.file', file], {});
    fs.rmSync(pw);
    execFileSync('mkfifo', [pw]);
    assert.equal(
      await outcome(readPassword(c.targets[0]!.vsphere, {}), pw),
      `config error: targets[eu].password_file: ${pw} is a named pipe (FIFO), not a regular file`,
    );
  });

  void it("the password source the sessions read refuses a swapped-in FIFO at once, in a login problem's words", async () => {
    const pw = write('source-pw', 'p\n');
    const file = write(
      'source.yml',
      `targets:\n  - {name: eu, url: "https://a", user: u, password_file: source-pw}\n`,
    );
    const c = await run(['--config.file', file], {});
    const source = passwordSource(c.targets[0]!.vsphere, {});
    assert.equal((await source.read()).reveal(), 'p');
    fs.rmSync(pw);
    execFileSync('mkfifo', [pw]);
    assert.equal(
      await outcome(source.read(), pw),
      `targets[eu].password_file: ${pw} is a named pipe (FIFO), not a regular file`,
    );
  });

  void it('refuses a character device and a file too large to be a password', async () => {
    await fails(
      [],
      { ...BASE_ENV, VSPHERE_PASSWORD_FILE: '/dev/zero' },
      'config error: VSPHERE_PASSWORD_FILE: /dev/zero is a character device, not a regular file',
    );
    const big = write('big-pw', 'x'.repeat(64 * 1024 + 1));
    await fails(
      [],
      { ...BASE_ENV, VSPHERE_PASSWORD_FILE: big },
      `config error: VSPHERE_PASSWORD_FILE: ${big} is larger than 65536 bytes`,
    );
    const justFits = write('fits-pw', `${'x'.repeat(64 * 1024 - 1)}\n`);
    await run([], { ...BASE_ENV, VSPHERE_PASSWORD_FILE: justFits });
  });

  void it('refuses a FIFO as ca_file', async () => {
    const fifo = makeFifo('ca-fifo');
    assert.equal(
      await outcome(loadConfig([], { ...BASE_ENV, VSPHERE_PASSWORD: 'p', VSPHERE_CA_FILE: fifo }), fifo),
      `config error: VSPHERE_CA_FILE: ${fifo} is a named pipe (FIFO), not a regular file`,
    );
  });
});

void describe('ca_file content', () => {
  const der = Buffer.from(CA_PEM.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64').toString(
    'latin1',
  );
  const noPem = (ca: string) => `${ca} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`;
  const cases: [string, string, (ca: string) => string][] = [
    ['DER instead of PEM', der, noPem],
    [
      'a private key',
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n',
      noPem,
    ],
    ['an empty file', '', noPem],
    [
      'a damaged certificate after a good one',
      `${CA_PEM}\n-----BEGIN CERTIFICATE-----\nAAAA${CA_PEM.split('\n')[2]}\n-----END CERTIFICATE-----\n`,
      (ca) => `certificate 2 in ${ca} is not valid: `,
    ],
  ];
  for (const [what, content, want] of cases) {
    void it(`refuses ${what}, naming the key and the file`, async () => {
      const ca = write('bad-ca.pem', content);
      const file = write(
        'ca.yml',
        `vsphere:\n  url: https://vc\n  user: u\n  password: p\n  ca_file: bad-ca.pem\n`,
      );
      const err = await loadConfig(['--config.file', file], {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConfigError, `${what} was accepted`);
      assert.ok(
        err.message.startsWith(`config error: vsphere.ca_file in ${file} line 5: ${want(ca)}`),
        err.message,
      );
      assert.equal(err.message.split('\n').length, 1);
    });
  }

  void it('accepts a bundle with comments between certificates', async () => {
    const ca = write('bundle.pem', `# corporate root\n${CA_PEM}\n# again\n${CA_PEM}\n`);
    const c = await run([], { ...BASE_ENV, VSPHERE_PASSWORD: 'p', VSPHERE_CA_FILE: ca });
    assert.equal(c.vsphere!.caFile, ca);
  });
});

void describe('hostile YAML', () => {
  void it('turns an alias bomb into a config error', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const file = write('bomb.yml', `${levels.join('\n')}\n`);
    await fails(
      ['--config.file', file],
      {},
      new RegExp(
        `^config error: invalid YAML in ${file}: .*alias.* \\(at most 100 alias expansions\\)$`,
        'i',
      ),
    );
  });

  void it('reports a __proto__ key as unknown instead of letting it set a prototype', async () => {
    const file = write('proto.yml', 'vsphere:\n  __proto__:\n    url: https://vc\n');
    await fails(['--config.file', file], {}, /unknown key vsphere\.__proto__ in .* line 2/);
  });
});

void describe('credentials in the URL', () => {
  for (const c of ['/', '?', '#', '@']) {
    void it(`never echoes a password containing ${JSON.stringify(c)}, from the environment or the file`, async () => {
      const url = `https://admin:s3cr${c}et-pw@vc.example.com/sdk`;
      const file = write('url.yml', `vsphere:\n  url: ${JSON.stringify(url)}\n  user: u\n  password: p\n`);
      for (const [argv, env] of [
        [[], { ...BASE_ENV, VSPHERE_PASSWORD: 'p', VSPHERE_URL: url }],
        [['--config.file', file], {}],
      ] as const) {
        const err = await loadConfig([...argv], env).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof Error, `${url} was accepted`);
        assert.match(err.message, /must not contain credentials/);
        for (const part of ['s3cr', 'et-pw', 'admin']) assert.ok(!err.message.includes(part), err.message);
      }
    });
  }
});
