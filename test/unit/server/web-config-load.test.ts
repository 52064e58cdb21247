import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../../src/config/errors.js';
import { HELP_TEXT, loadConfig } from '../../../src/config/load.js';
import { clientCertProblem, sanValues } from '../../../src/server/client-cert.js';
import { fingerprint, loadWebConfig } from '../../../src/server/web-config-load.js';
import { makeTestPki } from '../../harness/tls-fixtures.js';

const pki = makeTestPki();
after(() => pki.remove());

function config(name: string, text: string): string {
  const file = join(pki.dir, name);
  writeFileSync(file, text);
  return file;
}

async function refused(file: string, message: string): Promise<void> {
  await assert.rejects(loadWebConfig(file), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, `config error: --web.config.file ${file}: ${message}`);
    return true;
  });
}

void describe('loadWebConfig', () => {
  void it('reads the certificate, key and client CA relative to the file', async () => {
    const file = config(
      'ok.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n',
    );
    const loaded = await loadWebConfig(file);
    assert.equal(loaded.secureContext?.cert, pki.read(pki.serverCert));
    assert.equal(loaded.secureContext?.ca, pki.read(pki.caCert));
    assert.deepEqual(loaded.files, [file, pki.serverCert, pki.serverKey, pki.caCert]);
  });

  void it('refuses a missing config file', async () => {
    await refused(join(pki.dir, 'absent.yml'), 'cannot read: ENOENT: no such file or directory');
  });

  void it('refuses an unreadable certificate, key or CA file naming the key', async () => {
    await refused(
      config('nocert.yml', 'tls_server_config:\n  cert_file: gone.crt\n  key_file: server.key\n'),
      `tls_server_config.cert_file: cannot read ${join(pki.dir, 'gone.crt')}: ENOENT: no such file or directory`,
    );
    await refused(
      config('nokey.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: gone.key\n'),
      `tls_server_config.key_file: cannot read ${join(pki.dir, 'gone.key')}: ENOENT: no such file or directory`,
    );
    await refused(
      config(
        'noca.yml',
        'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n  client_ca_file: gone.crt\n',
      ),
      `tls_server_config.client_ca_file: cannot read ${join(pki.dir, 'gone.crt')}: ENOENT: no such file or directory`,
    );
  });

  void it('refuses a CA file without a certificate', async () => {
    await refused(
      config(
        'badca.yml',
        'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n',
      ),
      'tls_server_config.client_ca_file: no PEM certificate found',
    );
  });

  void it('refuses a key that does not belong to the certificate', async () => {
    await assert.rejects(
      loadWebConfig(
        config('mismatch.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n'),
      ),
      /tls_server_config: cannot use the certificate and key: .*key values mismatch/,
    );
  });

  void it('wraps a validation problem into a ConfigError naming the file', async () => {
    const file = config('contradiction.yml', 'tls_server_config:\n  cert_file: server.crt\n');
    await refused(file, 'tls_server_config.key_file: required when TLS is configured (or give key inline)');
  });

  void it('fingerprint changes when a named file is replaced', async () => {
    const copy = join(pki.dir, 'copy.crt');
    copyFileSync(pki.serverCert, copy);
    const before = await fingerprint([copy]);
    assert.equal(await fingerprint([copy]), before);
    copyFileSync(pki.clientCert, copy);
    assert.notEqual(await fingerprint([copy]), before);
    assert.equal(await fingerprint([join(pki.dir, 'absent')]), 'ENOENT');
  });
});

void describe('client certificate policy', () => {
  const socket = (cert: Record<string, unknown>, authorized: boolean) =>
    ({
      getPeerCertificate: () => cert,
      authorized,
      authorizationError: authorized ? null : 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    }) as unknown as Parameters<typeof clientCertProblem>[0];
  const none = socket({}, false);
  const good = socket({ subjectaltname: 'DNS:scraper.example, URI:spiffe://test/prometheus' }, true);
  const foreign = socket({ subjectaltname: 'DNS:scraper.example' }, false);

  void it('applies each client_auth_type', () => {
    const table: [string, (string | undefined)[]][] = [
      ['NoClientCert', [undefined, undefined, undefined]],
      ['RequestClientCert', [undefined, undefined, undefined]],
      ['RequireAnyClientCert', ['no client certificate', undefined, undefined]],
      [
        'VerifyClientCertIfGiven',
        [undefined, undefined, 'client certificate not verified: UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      ],
      [
        'RequireAndVerifyClientCert',
        [
          'no client certificate',
          undefined,
          'client certificate not verified: UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        ],
      ],
    ];
    for (const [mode, expected] of table) {
      const got = [none, good, foreign].map((s) => clientCertProblem(s, mode as 'NoClientCert', undefined));
      assert.deepEqual(got, expected, mode);
    }
  });

  void it('matches client_allowed_sans exactly against any SAN', () => {
    assert.equal(
      clientCertProblem(good, 'RequireAndVerifyClientCert', ['spiffe://test/prometheus']),
      undefined,
    );
    assert.equal(
      clientCertProblem(good, 'RequireAndVerifyClientCert', ['scraper', 'spiffe://test']),
      'client certificate has none of client_allowed_sans',
    );
  });

  void it('reads SAN strings the way Node writes them', () => {
    assert.deepEqual(
      sanValues(
        'DNS:a.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:x@y, URI:"spiffe://a,b"',
      ),
      ['a.example', '127.0.0.1', '::1', 'x@y', 'spiffe://a,b'],
    );
    assert.deepEqual(sanValues(undefined), []);
  });
});

void describe('--web.config.file flag', () => {
  void it('is passed on as given, next to the config, and listed in --help', async () => {
    const env = { VSPHERE_URL: 'https://vc.example.com', VSPHERE_USER: 'u', VSPHERE_PASSWORD: 'p' };
    const loaded = await loadConfig(['--web.config.file', 'web.yml'], env);
    assert.equal(loaded.kind, 'run');
    assert.equal(loaded.kind === 'run' && loaded.webConfigFile, 'web.yml');
    const without = await loadConfig([], env);
    assert.ok(without.kind === 'run' && !('webConfigFile' in without));
    assert.match(HELP_TEXT, /--web\.config\.file <path>/);
  });
});
