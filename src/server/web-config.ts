import path from 'node:path';
import type { SecureVersion } from 'node:tls';
import { parseDocument } from 'yaml';
import { CIPHER_SUITES, CURVES, EXTRA_HEADERS, TLS_VERSIONS, VERSION_RANK } from './tls-names.js';

/** Go's tls.ClientAuthType names, as exporter-toolkit's client_auth_type takes them. */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;

/** How the server treats client certificates. */
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** PEM text given inline in the file, or a file (absolute path) to read it from. */
export type PemSource = { file: string } | { inline: string };

/** The validated tls_server_config section. */
export interface TlsSpec {
  cert: PemSource;
  key: PemSource;
  clientCa?: PemSource;
  clientAuth: ClientAuthType;
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** OpenSSL cipher list for TLS ≤ 1.2, or undefined for Node's defaults. */
  ciphers?: string;
  honorCipherOrder: boolean;
  /** OpenSSL group list ("P-256:X25519"), or undefined for Node's defaults. */
  ecdhCurve?: string;
  /** Exact SAN values of which the verified client certificate must carry one. */
  allowedSans?: readonly string[];
}

/** A validated web configuration file, before any referenced file is read. */
export interface WebConfigSpec {
  tls?: TlsSpec;
  /** Extra response headers (http_server_config.headers). */
  headers: Readonly<Record<string, string>>;
  /** User name → bcrypt hash; empty = no basic auth. */
  users: ReadonlyMap<string, string>;
}

/** One problem in a web config file, naming the key it is about. */
export class WebConfigProblem extends Error {
  override readonly name = 'WebConfigProblem';
}

// The part exporter-toolkit's bcrypt.Cost() checks: version, cost 4..31, 22 salt + 31 hash characters.
const BCRYPT_HASH = /^\$2[aby]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

type Obj = Record<string, unknown>;

function fail(key: string, message: string): never {
  throw new WebConfigProblem(`${key}: ${message}`);
}

function section(raw: unknown, key: string, allowed: readonly string[]): Obj | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(key, 'expected a mapping');
  for (const k of Object.keys(raw)) {
    if (!allowed.includes(k)) fail(key === '' ? k : `${key}.${k}`, 'unknown key');
  }
  return raw as Obj;
}

function str(o: Obj, key: string, prefix: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') fail(`${prefix}.${key}`, 'expected a non-empty string');
  return v;
}

function bool(o: Obj, key: string, prefix: string, def: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') fail(`${prefix}.${key}`, 'expected true or false');
  return v;
}

function list(o: Obj, key: string, prefix: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) fail(`${prefix}.${key}`, 'expected a list of strings');
  return v.map((x, i) => {
    if (typeof x !== 'string' || x === '') fail(`${prefix}.${key}[${i}]`, 'expected a non-empty string');
    return x;
  });
}

function mapped<T>(table: Readonly<Record<string, T>>, name: string, key: string): T {
  if (!Object.hasOwn(table, name)) {
    fail(key, `unknown value ${JSON.stringify(name)}; expected one of ${Object.keys(table).join(', ')}`);
  }
  return table[name] as T;
}

function pem(o: Obj, inlineKey: string, fileKey: string, dir: string): PemSource | undefined {
  const p = 'tls_server_config';
  const inline = str(o, inlineKey, p);
  const file = str(o, fileKey, p);
  if (inline !== undefined && file !== undefined) {
    fail(`${p}.${fileKey}`, `give either ${inlineKey} or ${fileKey}, not both`);
  }
  if (file !== undefined) return { file: path.resolve(dir, file) };
  return inline === undefined ? undefined : { inline };
}

function parseTls(raw: unknown, dir: string): TlsSpec | undefined {
  const p = 'tls_server_config';
  const o = section(raw, p, [
    'cert',
    'key',
    'client_ca',
    'cert_file',
    'key_file',
    'client_auth_type',
    'client_ca_file',
    'client_allowed_sans',
    'min_version',
    'max_version',
    'cipher_suites',
    'prefer_server_cipher_suites',
    'curve_preferences',
  ]);
  // An empty section means plain HTTP, as in exporter-toolkit.
  if (o === undefined || Object.values(o).every((v) => v === null)) return undefined;
  const cert = pem(o, 'cert', 'cert_file', dir);
  const key = pem(o, 'key', 'key_file', dir);
  if (cert === undefined) fail(`${p}.cert_file`, 'required when TLS is configured (or give cert inline)');
  if (key === undefined) fail(`${p}.key_file`, 'required when TLS is configured (or give key inline)');
  const clientCa = pem(o, 'client_ca', 'client_ca_file', dir);

  const authName = str(o, 'client_auth_type', p) ?? 'NoClientCert';
  // "RequireClientCert" is the old spelling exporter-toolkit still accepts.
  const clientAuth = (authName === 'RequireClientCert' ? 'RequireAnyClientCert' : authName) as ClientAuthType;
  if (!CLIENT_AUTH_TYPES.includes(clientAuth)) {
    fail(
      `${p}.client_auth_type`,
      `unknown value ${JSON.stringify(authName)}; expected one of ${CLIENT_AUTH_TYPES.join(', ')}`,
    );
  }
  if (clientCa !== undefined && clientAuth === 'NoClientCert') {
    fail(
      `${p}.client_ca_file`,
      'set, but client_auth_type is NoClientCert: no client certificate is asked for',
    );
  }
  if (
    clientCa === undefined &&
    (clientAuth === 'RequireAndVerifyClientCert' || clientAuth === 'VerifyClientCertIfGiven')
  ) {
    fail(
      `${p}.client_ca_file`,
      `required with client_auth_type ${clientAuth}: nothing to verify client certificates against`,
    );
  }
  const allowedSans = list(o, 'client_allowed_sans', p);
  // Stricter than exporter-toolkit (which also takes RequireAnyClientCert): a SAN of an unverified
  // certificate proves nothing, anyone can write it into a self-signed one.
  if (allowedSans !== undefined && clientAuth !== 'RequireAndVerifyClientCert') {
    fail(
      `${p}.client_allowed_sans`,
      `requires client_auth_type RequireAndVerifyClientCert, not ${clientAuth}`,
    );
  }

  const version = (k: string, def: SecureVersion): SecureVersion => {
    const name = str(o, k, p);
    return name === undefined ? def : mapped(TLS_VERSIONS, name, `${p}.${k}`);
  };
  const minVersion = version('min_version', 'TLSv1.2');
  const maxVersion = version('max_version', 'TLSv1.3');
  if (VERSION_RANK[minVersion] > VERSION_RANK[maxVersion]) {
    fail(
      `${p}.min_version`,
      `${str(o, 'min_version', p) ?? 'TLS12'} is above max_version ${str(o, 'max_version', p) ?? 'TLS13'}`,
    );
  }
  const suites = list(o, 'cipher_suites', p)?.map((n, i) =>
    mapped(CIPHER_SUITES, n, `${p}.cipher_suites[${i}]`),
  );
  const tls12 = suites?.filter((s): s is string => s !== null);
  const curves = list(o, 'curve_preferences', p)?.map((n, i) =>
    mapped(CURVES, n, `${p}.curve_preferences[${i}]`),
  );
  return {
    cert,
    key,
    ...(clientCa && { clientCa }),
    clientAuth,
    minVersion,
    maxVersion,
    ...(tls12 && tls12.length > 0 && { ciphers: tls12.join(':') }),
    honorCipherOrder: bool(o, 'prefer_server_cipher_suites', p, true),
    ...(curves && curves.length > 0 && { ecdhCurve: curves.join(':') }),
    ...(allowedSans && { allowedSans }),
  };
}

function parseHeaders(raw: unknown): Record<string, string> {
  const p = 'http_server_config';
  const o = section(raw, p, ['http2', 'headers']);
  if (o === undefined) return {};
  bool(o, 'http2', p, true);
  const h = section(o.headers, `${p}.headers`, Object.keys(EXTRA_HEADERS));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(h ?? {})) {
    const key = `${p}.headers.${name}`;
    if (value === null || value === '') continue; // "Unset if blank"
    if (typeof value !== 'string') fail(key, 'expected a string');
    const allowed = EXTRA_HEADERS[name] ?? [];
    if (allowed.length > 0 && !allowed.includes(value)) {
      fail(key, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    }
    if (/[\r\n]/.test(value)) fail(key, 'must not contain a line break');
    headers[name] = value;
  }
  return headers;
}

/**
 * Parses and validates the text of a web configuration file (exporter-toolkit's format). Relative
 * paths are resolved against the file's directory. Throws WebConfigProblem naming the bad key.
 */
export function parseWebConfig(source: string, file: string): WebConfigSpec {
  const doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new WebConfigProblem(`invalid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? 'parse error'}`);
  }
  const root =
    section(doc.toJS() ?? {}, '', ['tls_server_config', 'http_server_config', 'basic_auth_users']) ?? {};
  const rawUsers = root.basic_auth_users;
  const users = new Map<string, string>();
  if (rawUsers !== undefined && rawUsers !== null) {
    if (typeof rawUsers !== 'object' || Array.isArray(rawUsers))
      fail('basic_auth_users', 'expected a mapping of user: bcrypt hash');
    for (const [user, hash] of Object.entries(rawUsers as Obj)) {
      const key = `basic_auth_users.${user}`;
      if (user === '' || user.includes(':')) fail(key, 'a user name must be non-empty and contain no ":"');
      if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) {
        fail(key, 'not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost of 04..31 and 53 characters)');
      }
      users.set(user, hash);
    }
  }
  const tls = parseTls(root.tls_server_config, path.dirname(path.resolve(file)));
  return {
    ...(tls && { tls }),
    headers: parseHeaders(root.http_server_config),
    users,
  };
}
