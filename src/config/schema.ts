import { z } from 'zod';
import { ConfigError } from './errors.js';
import { Secret } from './secret.js';
import { COLLECTOR_DEFAULTS, COLLECTOR_NAMES, type CollectorName } from '../collectors/names.js';
import { COUNTER_NAME_RE } from '../collectors/perf-metrics.js';
import { FILTER_KINDS, globRegExp, nameRegExp, type FiltersSpec } from '../collectors/filter.js';
import { infoLabelProblems } from '../collectors/info-labels.js';

/** Log levels accepted by `log.level` / `--log.level`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Log formats accepted by `log.format` / `--log.format`. */
export type LogFormat = 'logfmt' | 'json';

/** Resolved vSphere connection settings (durations in milliseconds). */
export interface VsphereConfig {
  url: URL;
  user: string;
  password?: Secret;
  passwordFile?: string;
  /** Environment variable holding the password, read at each login. */
  passwordEnv?: string;
  caFile?: string;
  /** TLS server name to verify instead of the URL's host (e.g. connecting by IP). */
  serverName?: string;
  insecureSkipVerify: boolean;
  maxConnections: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxResponseBytes: number;
  keepaliveIntervalMs: number;
  perfConcurrency: number;
  /** `full`: one RetrievePropertiesEx per collection; `incremental`: WaitForUpdatesEx deltas. */
  inventory: 'full' | 'incremental';
  maxQueryMetrics?: number;
}

/** One vCenter/ESXi to collect from, with its own session, pool, inventory and collectors. */
export interface TargetConfig {
  name: string;
  vsphere: VsphereConfig;
  collectors: Record<CollectorName, boolean>;
  filters: FiltersSpec;
}

/** The fully resolved runtime configuration (file < env < flags, defaults applied). */
export interface Config {
  /** Every target; the `vsphere` section (and VSPHERE_* variables) is the one named "default". */
  targets: TargetConfig[];
  /** The target /metrics serves, if any (the others only via /probe?target=). */
  defaultTarget?: string;
  /** The `vsphere` section's target, when configured (the single-target shortcut). */
  vsphere?: VsphereConfig;
  web: { listenAddress: string; telemetryPath: string; maxRequests: number };
  scrape: {
    timeoutSeconds: number;
    timeoutOffsetSeconds: number;
    /** `on-scrape`: collect when scraped; `background`: collect every intervalSeconds, serve the last result. */
    collection: 'on-scrape' | 'background';
    intervalSeconds: number;
  };
  log: { level: LogLevel; format: LogFormat };
  /** Collector name → enabled. */
  collectors: Record<CollectorName, boolean>;
  /** Options of the vm and host collectors (YAML only). */
  options: CollectorOptions;
  /** Per kind, which objects are collected (YAML only). */
  filters: FiltersSpec;
  configFile?: string;
}

/** Options of the vm and host collectors. */
export interface CollectorOptions {
  vm: { snapshotTimestamps: boolean; instanceMetrics: boolean; extraCounters: string[] };
  host: { extraCounters: string[] };
  /** 5-minute historical counters of clusters, datastores and resource pools (`historical.enabled`). */
  historical: boolean;
  /** Tag categories and custom attributes promoted to labels of vsphere_vm_info / vsphere_host_info. */
  infoLabels: { tagCategories: string[]; customAttributes: string[] };
}

/** Checks and normalises a vSphere SDK URL; returns the problem as a string when it is unusable. */
export function normalizeVsphereUrl(input: string): URL | string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    // Echo the input so typos are visible, but never any user-info part it may carry.
    const shown = JSON.stringify(input.replace(/\/\/[^/?#]*@/, '//<redacted>@'));
    return `not a valid URL: ${shown} (expected e.g. https://vcenter.example.com)`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `expected an http:// or https:// URL, got scheme ${JSON.stringify(url.protocol.slice(0, -1))}`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'must not contain credentials (user:password@); use vsphere.user and vsphere.password_file';
  }
  // `new URL('https://h/sdk?')` has an empty search, so also look at the raw text.
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(input)) {
    return 'must not contain a query string or fragment';
  }
  if (url.pathname === '/') url.pathname = '/sdk';
  return url;
}

function int(min: number, max?: number) {
  const error =
    max === undefined ? `expected an integer >= ${min}` : `expected an integer between ${min} and ${max}`;
  // The schema-level `error` also labels the min/max/safe-integer checks, so one message covers all.
  const s = z.int({ error }).min(min);
  return max === undefined ? s : s.max(max);
}
const positive = () => z.number({ error: 'expected a number > 0' }).positive();
const text = () => z.string({ error: 'expected a non-empty string' }).min(1);
const bool = () => z.boolean({ error: 'expected true or false' });
const section = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, { error: 'expected a mapping' }).partial().optional();

function compiles(make: (s: string) => RegExp) {
  return (s: string) => {
    try {
      make(s);
      return true;
    } catch {
      return false;
    }
  };
}
const patterns = section({
  names: z.array(
    z.string({ error: 'expected a regular expression string' }).refine(compiles(nameRegExp), {
      error: 'not a valid regular expression (JavaScript syntax, anchored at both ends)',
    }),
    { error: 'expected a list of regular expressions' },
  ),
  paths: z.array(
    z
      .string({ error: 'expected an inventory path glob, e.g. "/DC1/vm/prod/**"' })
      .refine((g) => g.startsWith('/') && compiles(globRegExp)(g), {
        error: 'expected an inventory path glob starting with "/", e.g. "/DC1/vm/prod/**"',
      }),
    { error: 'expected a list of inventory path globs' },
  ),
});
const COLLECTOR_SHAPE = Object.fromEntries(COLLECTOR_NAMES.map((n) => [n, bool()])) as Record<
  CollectorName,
  ReturnType<typeof bool>
>;
const filters = section(
  Object.fromEntries(
    FILTER_KINDS.map((k) => [k, section({ include: patterns, exclude: patterns })]),
  ) as Record<
    (typeof FILTER_KINDS)[number],
    ReturnType<typeof section<{ include: typeof patterns; exclude: typeof patterns }>>
  >,
);

const counters = z.array(
  z
    .string({ error: 'expected a counter name group.name.rollup, e.g. "mem.compressed.average"' })
    .regex(COUNTER_NAME_RE, {
      error: 'expected a counter name group.name.rollup, e.g. "mem.compressed.average"',
    }),
  { error: 'expected a list of counter names' },
);

const url = z.string({ error: 'expected a URL string' }).transform((s, ctx) => {
  const r = normalizeVsphereUrl(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

function isListenAddress(s: string): boolean {
  const m = /^(?:\[[^\]\s]+\]|[^\s:[\]]*):(\d{1,5})$/.exec(s);
  return m !== null && Number(m[1]) <= 65535;
}

const VSPHERE_SHAPE = {
  url,
  user: text(),
  password: text().transform((s) => new Secret(s)),
  password_file: text(),
  ca_file: text(),
  insecure_skip_verify: bool(),
  max_connections: int(1, 64),
  connect_timeout_seconds: positive(),
  request_timeout_seconds: positive(),
  max_response_bytes: int(1024 * 1024),
  keepalive_interval_seconds: z.number({ error: 'expected a number >= 10' }).min(10),
  perf_concurrency: int(1, 32),
  inventory: z.enum(['full', 'incremental'], { error: 'expected full or incremental' }),
  max_query_metrics: int(1),
  password_env: z
    .string({ error: 'expected an environment variable name' })
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
      error: 'expected an environment variable name',
    }),
  server_name: text(),
};

const TARGET = z
  .strictObject(
    {
      ...VSPHERE_SHAPE,
      name: z
        .string({ error: 'expected a target name (letters, digits, "_", "-", ".")' })
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, {
          error: 'expected a target name (letters, digits, "_", "-", ".")',
        }),
      collectors: z.strictObject(COLLECTOR_SHAPE, { error: 'expected a mapping' }).partial().optional(),
      filters,
    },
    { error: 'expected a mapping' },
  )
  .partial()
  .required({ name: true });

/** One configuration layer (YAML file, environment or flags): snake_case, every key optional. */
export const FileSchema = z.strictObject(
  {
    vsphere: section(VSPHERE_SHAPE),
    targets: z.array(TARGET, { error: 'expected a list of targets' }).optional(),
    default_target: text().optional(),
    web: section({
      listen_address: z
        .string({ error: 'expected [host]:port, e.g. ":9272" or "127.0.0.1:9272"' })
        .refine(isListenAddress),
      telemetry_path: z
        .string({ error: 'expected a path starting with "/" other than "/" itself, e.g. "/metrics"' })
        .refine((s) => s.startsWith('/') && s !== '/' && !/[\s?#]/.test(s)),
      max_requests: int(1, 10_000),
    }),
    scrape: section({
      timeout_seconds: positive(),
      timeout_offset_seconds: z.number({ error: 'expected a number >= 0' }).min(0),
      collection: z.enum(['on-scrape', 'background'], { error: 'expected on-scrape or background' }),
      interval_seconds: int(5, 3600),
    }),
    log: section({
      level: z.enum(['debug', 'info', 'warn', 'error'], {
        error: 'expected one of debug, info, warn, error',
      }),
      format: z.enum(['logfmt', 'json'], { error: 'expected logfmt or json' }),
    }),
    filters,
    vm: section({ snapshot_timestamps: bool(), instance_metrics: bool(), extra_counters: counters }),
    host: section({ extra_counters: counters }),
    historical: section({ enabled: bool() }),
    info_labels: section({
      tag_categories: z.array(text(), { error: 'expected a list of tag category names' }),
      custom_attributes: z.array(text(), { error: 'expected a list of custom attribute names' }),
    }),
    collectors: section(COLLECTOR_SHAPE),
  },
  { error: 'expected a mapping' },
);

/** A validated layer, values already converted (URL, Secret). */
export type FileLayer = z.output<typeof FileSchema>;

/** A validated layer plus a way to name one of its keys in messages ("VSPHERE_URL", "x in f.yml line 3"). */
export interface Layer {
  data: FileLayer;
  name(path: readonly string[]): string;
}

/** How a layer names its keys; `unknown` only matters for the YAML file. */
export interface KeyNamer {
  name(path: readonly string[]): string;
  unknown(path: readonly string[]): string;
}

// Never echo these values back: a password must not reach logs, the URL message already shows it (redacted).
const NO_ECHO = /^(vsphere|targets\.\d+)\.(password|url)$/;

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path)
    v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Validates one raw layer; every zod issue becomes one line naming the key (and YAML line). */
export function parseLayer(raw: unknown, keys: KeyNamer): FileLayer {
  const r = FileSchema.safeParse(raw);
  if (r.success) return r.data;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const issue of r.error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) problems.push(keys.unknown([...path, k]));
      continue;
    }
    const dotted = path.join('.');
    // A failed int check can raise several issues for one key; the first message says it all.
    if (seen.has(dotted)) continue;
    seen.add(dotted);
    const v = valueAt(raw, issue.path);
    const got = v === undefined || NO_ECHO.test(dotted) ? '' : `, got ${describe(v)}`;
    problems.push(`${keys.name(path)}: ${issue.message}${got}`);
  }
  throw new ConfigError(problems);
}

function merge<T extends object>(parts: (T | undefined)[]): Partial<T> {
  return Object.assign({}, ...parts.filter((p) => p !== undefined)) as Partial<T>;
}

/** Merges layers (later wins) into a Config, applying defaults and cross-key checks. */
export function resolveConfig(layers: readonly Layer[], configFile?: string): Config {
  const problems: string[] = [];
  const targetsLayer = layers.findLast((l) => l.data.targets !== undefined);
  const v = merge(layers.map((l) => l.data.vsphere));
  // With a `targets` list the vsphere section is optional; without one it is the only target.
  const single = targetsLayer === undefined || Object.keys(v).length > 0;
  let vsphere: VsphereConfig | undefined;
  if (single) {
    // password and password_file are one setting: the highest layer that sets either decides,
    // so VSPHERE_PASSWORD replaces a password_file from YAML instead of conflicting with it.
    const owner = layers.findLast(
      (l) => l.data.vsphere?.password ?? l.data.vsphere?.password_file ?? l.data.vsphere?.password_env,
    );
    const o = owner?.data.vsphere ?? {};
    vsphere = toVsphereConfig(
      { ...v, password: o.password, password_file: o.password_file, password_env: o.password_env },
      (key) => (owner ?? layers[layers.length - 1])?.name(['vsphere', key]) ?? `vsphere.${key}`,
      {
        url: 'vsphere.url (or VSPHERE_URL) is required',
        user: 'vsphere.user (or VSPHERE_USER) is required',
        password:
          'vsphere.password_file (or VSPHERE_PASSWORD_FILE) or vsphere.password (or VSPHERE_PASSWORD) is required',
      },
      problems,
    );
  }

  const collectors = merge(layers.map((l) => l.data.collectors));
  const globalCollectors = Object.fromEntries(
    COLLECTOR_NAMES.map((n) => [n, collectors[n] ?? COLLECTOR_DEFAULTS[n]]),
  ) as Record<CollectorName, boolean>;
  // Filters are lists of patterns: the highest layer that has them replaces the lower ones whole.
  const globalFilters = layers.findLast((l) => l.data.filters !== undefined)?.data.filters ?? {};

  const targets: TargetConfig[] = [];
  if (vsphere)
    targets.push({ name: 'default', vsphere, collectors: globalCollectors, filters: globalFilters });
  const seen = new Set(targets.map((t) => t.name));
  for (const [i, raw] of (targetsLayer?.data.targets ?? []).entries()) {
    const key = (k: string) => targetsLayer!.name(['targets', String(i), k]);
    if (seen.has(raw.name)) {
      problems.push(
        `${key('name')}: target name ${JSON.stringify(raw.name)} is used twice` +
          (raw.name === 'default' ? ' ("default" is the vsphere section\'s target)' : ''),
      );
    }
    seen.add(raw.name);
    const tv = toVsphereConfig(
      raw,
      key,
      {
        url: `${key('url')}: required`,
        user: `${key('user')}: required`,
        password: `${key('password_file')} (or password_env, or password): required`,
      },
      problems,
    );
    if (!tv) continue;
    targets.push({
      name: raw.name,
      vsphere: tv,
      collectors: { ...globalCollectors, ...raw.collectors },
      filters: raw.filters ?? globalFilters,
    });
  }
  const infoLabels = resolveInfoLabels(layers, targets, problems);
  const defaultLayer = layers.findLast((l) => l.data.default_target !== undefined);
  const defaultTarget = defaultLayer?.data.default_target ?? (vsphere ? 'default' : undefined);
  if (
    defaultTarget !== undefined &&
    !targets.some((t) => t.name === defaultTarget) &&
    problems.length === 0
  ) {
    problems.push(
      `${defaultLayer?.name(['default_target']) ?? 'default_target'}: no target named ${JSON.stringify(defaultTarget)}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const web = merge(layers.map((l) => l.data.web));
  const scrape = merge(layers.map((l) => l.data.scrape));
  const log = merge(layers.map((l) => l.data.log));
  const vmOpts = merge(layers.map((l) => l.data.vm));
  const hostOpts = merge(layers.map((l) => l.data.host));
  const historical = merge(layers.map((l) => l.data.historical));
  const config: Config = {
    targets,
    filters: globalFilters,
    options: {
      vm: {
        snapshotTimestamps: vmOpts.snapshot_timestamps ?? false,
        instanceMetrics: vmOpts.instance_metrics ?? false,
        extraCounters: vmOpts.extra_counters ?? [],
      },
      host: { extraCounters: hostOpts.extra_counters ?? [] },
      historical: historical.enabled ?? false,
      infoLabels,
    },
    web: {
      listenAddress: web.listen_address ?? ':9272',
      telemetryPath: web.telemetry_path ?? '/metrics',
      maxRequests: web.max_requests ?? 64,
    },
    scrape: {
      timeoutSeconds: scrape.timeout_seconds ?? 10,
      timeoutOffsetSeconds: scrape.timeout_offset_seconds ?? 0.5,
      collection: scrape.collection ?? 'on-scrape',
      intervalSeconds: scrape.interval_seconds ?? 20,
    },
    log: { level: log.level ?? 'info', format: log.format ?? 'logfmt' },
    collectors: globalCollectors,
  };
  if (vsphere) config.vsphere = vsphere;
  if (defaultTarget !== undefined) config.defaultTarget = defaultTarget;
  if (configFile !== undefined) config.configFile = configFile;
  return config;
}

/** The `info_labels` section: label names checked, and the tag collector on wherever it is used. */
function resolveInfoLabels(
  layers: readonly Layer[],
  targets: readonly TargetConfig[],
  problems: string[],
): CollectorOptions['infoLabels'] {
  const owner = layers.findLast((l) => l.data.info_labels !== undefined);
  const raw = owner?.data.info_labels ?? {};
  const out = { tagCategories: raw.tag_categories ?? [], customAttributes: raw.custom_attributes ?? [] };
  if (!owner || out.tagCategories.length + out.customAttributes.length === 0) return out;
  for (const { entry, message } of infoLabelProblems(out))
    problems.push(`${owner.name(['info_labels', entry.key, String(entry.index)])}: ${message}`);
  const without = targets.filter((t) => !t.collectors.tag).map((t) => JSON.stringify(t.name));
  if (without.length > 0)
    problems.push(
      `${owner.name(['info_labels'])}: info_labels needs the tag collector: set collectors.tag: true / --collector.tag` +
        ` (off for target ${without.join(', ')})`,
    );
  return out;
}

type RawVsphere = Partial<z.output<z.ZodObject<typeof VSPHERE_SHAPE>>>;

/** A VsphereConfig from one section's raw values, or undefined with the problems appended. */
function toVsphereConfig(
  v: RawVsphere,
  key: (k: string) => string,
  missing: { url: string; user: string; password: string },
  problems: string[],
): VsphereConfig | undefined {
  const before = problems.length;
  if (v.url === undefined) problems.push(missing.url);
  if (v.user === undefined) problems.push(missing.user);
  const given = (['password', 'password_file', 'password_env'] as const).filter((k) => v[k] !== undefined);
  if (given.length === 0) problems.push(missing.password);
  if (given.length > 1) {
    problems.push(`${given.map(key).join(' and ')} are mutually exclusive; set only one (prefer the file)`);
  }
  if (v.insecure_skip_verify === true && (v.ca_file !== undefined || v.server_name !== undefined)) {
    const other = v.ca_file !== undefined ? 'ca_file' : 'server_name';
    problems.push(
      `${key('insecure_skip_verify')} contradicts ${key(other)}: a skipped verification uses neither`,
    );
  }
  if (problems.length > before || v.url === undefined || v.user === undefined) return undefined;
  const ms = (seconds: number) => Math.round(seconds * 1000);
  const out: VsphereConfig = {
    url: v.url,
    user: v.user,
    insecureSkipVerify: v.insecure_skip_verify ?? false,
    maxConnections: v.max_connections ?? 4,
    connectTimeoutMs: ms(v.connect_timeout_seconds ?? 10),
    requestTimeoutMs: ms(v.request_timeout_seconds ?? 60),
    // Responses are paged (maxObjects) and chunked (maxQueryMetrics), so none legitimately nears this;
    // parsing costs many times the body size in memory, so the cap bounds memory too.
    maxResponseBytes: v.max_response_bytes ?? 32 * 1024 * 1024,
    keepaliveIntervalMs: ms(v.keepalive_interval_seconds ?? 300),
    perfConcurrency: v.perf_concurrency ?? 4,
    inventory: v.inventory ?? 'full',
  };
  // Optional keys are only set when present so `'password' in config.vsphere` stays meaningful.
  if (v.password !== undefined) out.password = v.password;
  if (v.password_file !== undefined) out.passwordFile = v.password_file;
  if (v.password_env !== undefined) out.passwordEnv = v.password_env;
  if (v.ca_file !== undefined) out.caFile = v.ca_file;
  if (v.server_name !== undefined) out.serverName = v.server_name;
  if (v.max_query_metrics !== undefined) out.maxQueryMetrics = v.max_query_metrics;
  return out;
}
