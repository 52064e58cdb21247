import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { parseLayer, type Config, type Layer, type VsphereConfig } from './schema.js';
import { resolveConfig } from './resolve.js';
import { checkPemCertificates, readRegularFile, CA_FILE_MAX_BYTES } from './read-file.js';
import { Secret } from './secret.js';
import { loadFileLayer } from './yaml-file.js';
import { COLLECTOR_DEFAULTS, COLLECTOR_NAMES } from '../model/names.js';

/** Thrown for every configuration problem; re-exported so callers import it with loadConfig. */
export { ConfigError } from './errors.js';

/** What the command line asked for: run with a config, or print help / version. */
export type LoadResult =
  | { kind: 'run'; config: Config; webConfigFile?: string; enableLifecycle?: boolean }
  | { kind: 'help'; text: string }
  | { kind: 'version' };

// src/config/load.ts and dist/config/load.js are both two levels below the package root.
const pkg = z
  .object({ version: z.string() })
  .parse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')));

/** The exporter version, from package.json. */
export const VERSION: string = pkg.version;

/** Usage text printed for --help. */
export const HELP_TEXT = `Usage: vsphere-exporter [flags]
       vsphere-exporter check [flags] [--format=json]   log in to every target, report problems, exit 0/1 (2: bad config)

Prometheus exporter for VMware vSphere (vCenter / ESXi).

Flags:
  --config.file <path>          YAML configuration file
  --web.listen-address <addr>   address to listen on (default ":9272")
  --web.telemetry-path <path>   path under which to expose metrics (default "/metrics")
  --web.config.file <path>      TLS and basic auth for this endpoint (exporter-toolkit web config format)
  --web.enable-lifecycle        allow POST /-/reload (SIGHUP always reloads the config file)
  --log.level <level>           debug, info, warn or error (default "info")
  --log.format <format>         logfmt or json (default "logfmt")
  --scrape.timeout-seconds <s>  deadline of a scrape without X-Prometheus-Scrape-Timeout-Seconds (default 10)
  --scrape.max-timeout-seconds <s>
                                cap on every scrape's deadline, the header's included (default 120)
  --[no-]collector.<name>       enable/disable a collector (${COLLECTOR_NAMES.map((n) => (COLLECTOR_DEFAULTS[n] ? n : `${n} (off by default)`)).join(', ')})
  -h, --help                    show this help and exit
  --version                     show the version and exit

Environment (overrides the config file; flags override both):
  VSPHERE_URL                   vCenter/ESXi URL; "/sdk" is implied when no path is given
  VSPHERE_USER                  user name, e.g. readonly@vsphere.local
  VSPHERE_PASSWORD_FILE         file holding the password, re-read at each login
  VSPHERE_PASSWORD              the password itself (prefer VSPHERE_PASSWORD_FILE)
  VSPHERE_CA_FILE               PEM file with the CA(s) that signed the vCenter certificate
  VSPHERE_INSECURE_SKIP_VERIFY  true/false: skip TLS certificate verification (unsafe)
  VSPHERE_SCRAPE_TIMEOUT_SECONDS      as --scrape.timeout-seconds
  VSPHERE_SCRAPE_MAX_TIMEOUT_SECONDS  as --scrape.max-timeout-seconds

There is deliberately no password flag: command lines are visible to every local user.
`;

const FLAGS = {
  'config.file': { type: 'string' },
  'web.listen-address': { type: 'string' },
  'web.telemetry-path': { type: 'string' },
  'web.config.file': { type: 'string' },
  'web.enable-lifecycle': { type: 'boolean' },
  'log.level': { type: 'string' },
  'log.format': { type: 'string' },
  'scrape.timeout-seconds': { type: 'string' },
  'scrape.max-timeout-seconds': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...Object.fromEntries(
    COLLECTOR_NAMES.flatMap((n) => [
      [`collector.${n}`, { type: 'boolean' }],
      [`no-collector.${n}`, { type: 'boolean' }],
    ]),
  ),
} as const satisfies Record<string, { type: 'string' | 'boolean'; short?: string }>;

// Layer key path -> flag / environment variable that sets it, for naming keys in messages.
const FLAG_KEYS: Record<string, string> = {
  'web.listen_address': '--web.listen-address',
  'web.telemetry_path': '--web.telemetry-path',
  'log.level': '--log.level',
  'log.format': '--log.format',
  'scrape.timeout_seconds': '--scrape.timeout-seconds',
  'scrape.max_timeout_seconds': '--scrape.max-timeout-seconds',
  ...Object.fromEntries(COLLECTOR_NAMES.map((n) => [`collectors.${n}`, `--collector.${n}`])),
};
const ENV_KEYS: Record<string, string> = {
  'vsphere.url': 'VSPHERE_URL',
  'vsphere.user': 'VSPHERE_USER',
  'vsphere.password': 'VSPHERE_PASSWORD',
  'vsphere.password_file': 'VSPHERE_PASSWORD_FILE',
  'vsphere.ca_file': 'VSPHERE_CA_FILE',
  'vsphere.insecure_skip_verify': 'VSPHERE_INSECURE_SKIP_VERIFY',
  'scrape.timeout_seconds': 'VSPHERE_SCRAPE_TIMEOUT_SECONDS',
  'scrape.max_timeout_seconds': 'VSPHERE_SCRAPE_MAX_TIMEOUT_SECONDS',
};
// Keys whose flag or variable text is a number (left as text when it is not, so the schema's
// message names the flag or variable).
const NUMERIC_KEYS = new Set(['scrape.timeout_seconds', 'scrape.max_timeout_seconds']);

function fromText(key: string, value: string): unknown {
  if (!NUMERIC_KEYS.has(key)) return value;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  return Number.isFinite(n) ? n : value;
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // Node's message continues with advice about "--" that does not apply here.
    const first = (err instanceof Error ? err.message : String(err)).split(/\.(?:\s|$)/)[0] ?? '';
    throw new ConfigError(`${first} (see --help)`);
  }
}

function fromTable(table: Record<string, string>) {
  const name = (path: readonly string[]) => table[path.join('.')] ?? path.join('.');
  return { name, unknown: name };
}

function parseBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  throw new ConfigError(`${name}: expected true, false, 1, 0, yes or no, got ${JSON.stringify(value)}`);
}

function envLayer(env: Record<string, string | undefined>): Layer {
  const raw: Record<string, Record<string, unknown>> = { vsphere: {} };
  for (const [key, name] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    // An empty variable (`VSPHERE_PASSWORD=` in a compose file) means unset, as in most tooling.
    if (value === undefined || value === '') continue;
    const [sectionName = '', field = ''] = key.split('.');
    (raw[sectionName] ??= {})[field] =
      field === 'insecure_skip_verify' ? parseBool(name, value) : fromText(key, value);
  }
  const keys = fromTable(ENV_KEYS);
  return { data: parseLayer(raw, keys), name: keys.name };
}

function flagLayer(values: ReturnType<typeof parseFlags>): Layer {
  const raw: Record<string, Record<string, unknown>> = { web: {}, log: {} };
  const all = values as Record<string, string | boolean | undefined>;
  for (const n of COLLECTOR_NAMES) {
    const on = all[`collector.${n}`];
    const off = all[`no-collector.${n}`];
    if (on === true && off === true) {
      throw new ConfigError(`--collector.${n} and --no-collector.${n} contradict each other; give one`);
    }
    if (on === true || off === true) (raw.collectors ??= {})[n] = on === true;
  }
  for (const [key, flag] of Object.entries(FLAG_KEYS)) {
    if (key.startsWith('collectors.')) continue;
    const value = all[flag.slice(2)];
    const [sectionName = '', field = ''] = key.split('.');
    if (value !== undefined)
      (raw[sectionName] ??= {})[field] = typeof value === 'string' ? fromText(key, value) : value;
  }
  const keys = fromTable(FLAG_KEYS);
  return { data: parseLayer(raw, keys), name: keys.name };
}

// A password is a few dozen bytes; a bundle of CAs a few hundred KiB. More means the wrong file.
const PASSWORD_FILE_MAX_BYTES = 64 * 1024;

async function readPasswordFile(file: string, label: string): Promise<Secret> {
  const text = await readRegularFile(file, label, PASSWORD_FILE_MAX_BYTES);
  // Only the newline editors and `echo` append is dropped: other whitespace may be part of the password.
  const value = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (value === '') throw new ConfigError(`${label}: ${file} is empty`);
  return new Secret(value);
}

/** Returns the vSphere password, re-reading the password file at every call so rotations apply at next login. */
export async function readPassword(
  v: VsphereConfig,
  env: Record<string, string | undefined> = process.env,
): Promise<Secret> {
  const section = v.section ?? 'vsphere';
  if (v.password !== undefined) return v.password;
  if (v.passwordEnv !== undefined) {
    const value = env[v.passwordEnv];
    if (value === undefined || value === '')
      throw new ConfigError(`${section}.password_env: ${v.passwordEnv} is not set`);
    return new Secret(value);
  }
  if (v.passwordFile === undefined) {
    const also = section === 'vsphere' ? ' (or VSPHERE_PASSWORD_FILE)' : '';
    throw new ConfigError(`${section}.password_file${also} is required`);
  }
  return readPasswordFile(v.passwordFile, `${section}.password_file`);
}

/** Parses flags, reads the YAML file and environment, and returns the merged, validated configuration. */
export async function loadConfig(
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<LoadResult> {
  const flags = parseFlags(argv);
  if (flags.help === true) return { kind: 'help', text: HELP_TEXT };
  if (flags.version === true) return { kind: 'version' };

  const file = flags['config.file'];
  const layers: Layer[] = [];
  if (file !== undefined) layers.push(await loadFileLayer(file));
  layers.push(envLayer(env), flagLayer(flags));
  const config = resolveConfig(layers, file);

  // Fail at startup on a missing/unreadable file, a CA file without certificates or an unset variable,
  // naming the key that set it; the values are discarded and re-read at each login (readPassword)
  // and by the target (readCa).
  const targetsLayer = layers.findLast((l) => l.data.targets !== undefined);
  for (const t of config.targets) {
    const i = targetsLayer?.data.targets?.findIndex((r) => r.name === t.name) ?? -1;
    const key = (k: string): string => {
      if (t.name === 'default' && i < 0) {
        const owner = layers.findLast((l) => l.data.vsphere?.[k as 'password_file'] !== undefined);
        return owner?.name(['vsphere', k]) ?? `vsphere.${k}`;
      }
      return targetsLayer?.name(['targets', String(i), k]) ?? `targets.${t.name}.${k}`;
    };
    const { passwordFile, passwordEnv, caFile } = t.vsphere;
    if (passwordFile !== undefined) await readPasswordFile(passwordFile, key('password_file'));
    if (caFile !== undefined) {
      const label = key('ca_file');
      checkPemCertificates(await readRegularFile(caFile, label, CA_FILE_MAX_BYTES), caFile, label);
    }
    if (passwordEnv !== undefined && (env[passwordEnv] ?? '') === '') {
      throw new ConfigError(`${key('password_env')}: environment variable ${passwordEnv} is not set`);
    }
  }
  // Its own format, read and checked by the server (src/server/web-config.ts), not a config key.
  const webConfigFile = flags['web.config.file'];
  return {
    kind: 'run',
    config,
    ...(webConfigFile !== undefined && { webConfigFile }),
    ...(flags['web.enable-lifecycle'] === true && { enableLifecycle: true }),
  };
}
