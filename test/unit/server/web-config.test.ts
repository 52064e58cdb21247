import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWebConfig, WebConfigProblem } from '../../../src/server/web-config.js';

const FILE = '/etc/exporter/web.yml';
const HASH = '$2b$04$..q1RBnfTDRQ/sETpKfY.uWGdVryFtvrYAZnGQDAaMHp6DuGbVmsW';
const TLS = 'tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n';

function rejects(source: string, message: string): void {
  assert.throws(
    () => parseWebConfig(source, FILE),
    (e: unknown) => {
      assert.ok(e instanceof WebConfigProblem, String(e));
      assert.equal(e.message, message);
      return true;
    },
  );
}

void describe('parseWebConfig: valid files', () => {
  void it('an empty file means plain HTTP, no auth, no headers', () => {
    assert.deepEqual(parseWebConfig('', FILE), { headers: {}, users: new Map() });
    assert.deepEqual(parseWebConfig('tls_server_config: {}\n', FILE), { headers: {}, users: new Map() });
  });

  void it('applies exporter-toolkit defaults and resolves paths against the file', () => {
    assert.deepEqual(parseWebConfig(TLS, FILE).tls, {
      cert: { file: '/etc/exporter/s.crt' },
      key: { file: '/etc/exporter/s.key' },
      clientAuth: 'NoClientCert',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: true,
    });
  });

  void it('maps every option to its Node/OpenSSL form', () => {
    const spec = parseWebConfig(
      `${TLS}  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: /abs/ca.pem
  client_allowed_sans: [scraper.example, 127.0.0.1]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: sameorigin
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ''
basic_auth_users:
  alice: '${HASH}'
  bob: '${HASH.replace('$2b$', '$2y$')}'
`,
      FILE,
    );
    assert.deepEqual(spec.tls, {
      cert: { file: '/etc/exporter/s.crt' },
      key: { file: '/etc/exporter/s.key' },
      clientCa: { file: '/abs/ca.pem' },
      clientAuth: 'RequireAndVerifyClientCert',
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // The TLS 1.3 suite is accepted and left to the defaults, as Go does.
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305',
      honorCipherOrder: false,
      ecdhCurve: 'X25519:P-256',
      allowedSans: ['scraper.example', '127.0.0.1'],
    });
    assert.deepEqual(spec.headers, {
      'X-Frame-Options': 'sameorigin',
      'Strict-Transport-Security': 'max-age=31536000',
    });
    assert.deepEqual([...spec.users.keys()], ['alice', 'bob']);
  });

  void it('takes inline PEM and the old RequireClientCert spelling', () => {
    const tls = parseWebConfig(
      'tls_server_config:\n  cert: "-----BEGIN"\n  key: "k"\n  client_ca: "c"\n  client_auth_type: RequireClientCert\n',
      FILE,
    ).tls;
    assert.deepEqual(
      [tls?.cert, tls?.key, tls?.clientCa, tls?.clientAuth],
      [{ inline: '-----BEGIN' }, { inline: 'k' }, { inline: 'c' }, 'RequireAnyClientCert'],
    );
  });
});

void describe('parseWebConfig: refused files name the key', () => {
  const cases: [string, string, string][] = [
    ['unknown top-level key', 'rate_limit:\n  burst: 1\n', 'rate_limit: unknown key'],
    ['unknown TLS key', `${TLS}  cert_path: x\n`, 'tls_server_config.cert_path: unknown key'],
    ['unknown HTTP key', 'http_server_config:\n  gzip: true\n', 'http_server_config.gzip: unknown key'],
    [
      'cert without key',
      'tls_server_config:\n  cert_file: s.crt\n',
      'tls_server_config.key_file: required when TLS is configured (or give key inline)',
    ],
    [
      'key without cert',
      'tls_server_config:\n  key_file: s.key\n',
      'tls_server_config.cert_file: required when TLS is configured (or give cert inline)',
    ],
    [
      'client auth without cert',
      'tls_server_config:\n  client_auth_type: RequestClientCert\n',
      'tls_server_config.cert_file: required when TLS is configured (or give cert inline)',
    ],
    [
      'cert and cert_file',
      `${TLS}  cert: x\n`,
      'tls_server_config.cert_file: give either cert or cert_file, not both',
    ],
    [
      'client_ca_file with NoClientCert',
      `${TLS}  client_ca_file: ca.pem\n`,
      'tls_server_config.client_ca_file: set, but client_auth_type is NoClientCert: no client certificate is asked for',
    ],
    [
      'RequireAndVerifyClientCert without CA',
      `${TLS}  client_auth_type: RequireAndVerifyClientCert\n`,
      'tls_server_config.client_ca_file: required with client_auth_type RequireAndVerifyClientCert: nothing to verify client certificates against',
    ],
    [
      'VerifyClientCertIfGiven without CA',
      `${TLS}  client_auth_type: VerifyClientCertIfGiven\n`,
      'tls_server_config.client_ca_file: required with client_auth_type VerifyClientCertIfGiven: nothing to verify client certificates against',
    ],
    [
      'unknown client_auth_type',
      `${TLS}  client_auth_type: Always\n`,
      'tls_server_config.client_auth_type: unknown value "Always"; expected one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert',
    ],
    [
      'client_allowed_sans without verification',
      `${TLS}  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [a]\n`,
      'tls_server_config.client_allowed_sans: requires client_auth_type RequireAndVerifyClientCert, not RequireAnyClientCert',
    ],
    [
      'client_allowed_sans without client auth',
      `${TLS}  client_allowed_sans: [a]\n`,
      'tls_server_config.client_allowed_sans: requires client_auth_type RequireAndVerifyClientCert, not NoClientCert',
    ],
    [
      'min_version above max_version',
      `${TLS}  min_version: TLS13\n  max_version: TLS12\n`,
      'tls_server_config.min_version: TLS13 is above max_version TLS12',
    ],
    [
      'min_version above the default max',
      `${TLS}  max_version: TLS11\n`,
      'tls_server_config.min_version: TLS12 is above max_version TLS11',
    ],
    [
      'unknown TLS version',
      `${TLS}  min_version: TLS1.2\n`,
      'tls_server_config.min_version: unknown value "TLS1.2"; expected one of TLS10, TLS11, TLS12, TLS13',
    ],
    [
      'unknown cipher suite',
      `${TLS}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_RC4_128_SHA]\n`,
      'tls_server_config.cipher_suites[1]: unknown value "TLS_RSA_WITH_RC4_128_SHA"; expected one of ',
    ],
    [
      'unknown curve',
      `${TLS}  curve_preferences: [P-256]\n`,
      'tls_server_config.curve_preferences[0]: unknown value "P-256"; expected one of CurveP256, CurveP384, CurveP521, X25519',
    ],
    [
      'wrong type',
      `${TLS}  prefer_server_cipher_suites: yes please\n`,
      'tls_server_config.prefer_server_cipher_suites: expected true or false',
    ],
    ['not a mapping', 'tls_server_config: [a]\n', 'tls_server_config: expected a mapping'],
    [
      'Content-Type header',
      'http_server_config:\n  headers:\n    Content-Type: text/html\n',
      'http_server_config.headers.Content-Type: unknown key',
    ],
    [
      'Content-Encoding header',
      'http_server_config:\n  headers:\n    Content-Encoding: gzip\n',
      'http_server_config.headers.Content-Encoding: unknown key',
    ],
    [
      'header value outside its list',
      'http_server_config:\n  headers:\n    X-Frame-Options: allow\n',
      'http_server_config.headers.X-Frame-Options: expected one of deny, sameorigin, got "allow"',
    ],
    [
      'header value with a line break',
      'http_server_config:\n  headers:\n    Content-Security-Policy: "a\\r\\nSet-Cookie: x"\n',
      'http_server_config.headers.Content-Security-Policy: must not contain a line break',
    ],
    [
      'plain-text password',
      'basic_auth_users:\n  alice: secret\n',
      'basic_auth_users.alice: not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost of 04..31 and 53 characters)',
    ],
    [
      'truncated hash',
      `basic_auth_users:\n  alice: '${HASH.slice(0, -1)}'\n`,
      'basic_auth_users.alice: not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost of 04..31 and 53 characters)',
    ],
    [
      'hash with cost 03',
      `basic_auth_users:\n  alice: '${HASH.replace('$04$', '$03$')}'\n`,
      'basic_auth_users.alice: not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost of 04..31 and 53 characters)',
    ],
    [
      'user name with a colon',
      `basic_auth_users:\n  'a:b': '${HASH}'\n`,
      'basic_auth_users.a:b: a user name must be non-empty and contain no ":"',
    ],
    [
      'users as a list',
      'basic_auth_users: [alice]\n',
      'basic_auth_users: expected a mapping of user: bcrypt hash',
    ],
  ];
  for (const [title, source, message] of cases) {
    void it(title, () => {
      if (message.endsWith('expected one of ')) {
        assert.throws(
          () => parseWebConfig(source, FILE),
          (e: unknown) => e instanceof Error && e.message.startsWith(message),
        );
      } else {
        rejects(source, message);
      }
    });
  }

  void it('refuses duplicated keys and broken YAML', () => {
    assert.throws(
      () => parseWebConfig(`basic_auth_users:\n  a: '${HASH}'\n  a: '${HASH}'\n`, FILE),
      /invalid YAML/,
    );
    assert.throws(() => parseWebConfig('tls_server_config: [\n', FILE), /invalid YAML/);
  });
});
