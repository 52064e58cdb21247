import { z } from 'zod';
import { Secret } from './secret.js';
import { COLLECTOR_NAMES, COUNTER_NAME_RE, type CollectorName } from '../model/names.js';
import { FILTER_KINDS, globRegExp, nameRegExp, type FiltersSpec } from '../model/filters.js';

/** Log levels accepted by `log.level` / `--log.level`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Log formats accepted by `log.format` / `--log.format`. */
export type LogFormat = 'logfmt' | 'json';

/** Resolved vSphere connection settings (durations in milliseconds). */
export interface VsphereConfig {
  /** How messages name this connection's section: `vsphere`, or `targets[<name>]` for a target. */
  section?: string;
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
  /** QueryPerf requests in flight for the target; undefined: maxConnections. */
  perfConcurrency?: number;
  /** Entities per realtime QueryPerf (all their counters); undefined: 256. */
  perfBatchObjects?: number;
  /** `incremental` (default): WaitForUpdatesEx deltas; `full`: one RetrievePropertiesEx per collection. */
  inventory: 'full' | 'incremental';
  /** Deadline of a full inventory read (first of a session, resync), which outlives the scrape that started it. */
  inventoryTimeoutMs: number;
  /** Metric ids per historical QueryPerf; undefined: read from vCenter. */
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
    maxTimeoutSeconds: number;
    /** `on-scrape`: collect when scraped; `background`: collect every intervalSeconds, serve the last result. */
    collection: 'on-scrape' | 'background';
    intervalSeconds: number;
    /** On-scrape mode: how long a collection may run from its start once its scrapes answered without it. */
    collectionTimeoutSeconds: number;
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
  vm: {
    snapshotTimestamps: boolean;
    instanceMetrics: boolean;
    extraCounters: string[];
    datastoreUsage?: boolean;
    health?: boolean;
  };
  host: { extraCounters: string[] };
  /** 5-minute historical counters of clusters, datastores and resource pools (`historical.enabled`). */
  historical: boolean;
  /** Tag categories and custom attributes promoted to labels of vsphere_vm_info / vsphere_host_info. */
  infoLabels: { tagCategories: string[]; customAttributes: string[] };
  /** The events collector: event types counted (anchored regexes) and the cap on distinct types (absent: all, 200). */
  events?: { include: string[]; exclude: string[]; maxTypes: number };
}

// A host name or address with an optional port and path, but no scheme ("vc.example.com:443/sdk").
const HOST_ONLY = /^[A-Za-z0-9][A-Za-z0-9.-]*(:\d{1,5})?(\/[^\s]*)?$/;

const CREDENTIALS =
  'must not contain credentials (user:password@); use vsphere.user and vsphere.password_file';

/** Checks and normalises a vSphere SDK URL; returns the problem as a string when it is unusable. */
export function normalizeVsphereUrl(input: string): URL | string {
  // A "/", "?" or "#" in a password ends the URL's authority early, so the parser sees no user-info
  // (or fails) and nothing could be safely echoed: any "@" is taken as credentials, never shown.
  // A vSphere SDK URL has no other use for "@".
  if (input.includes('@')) return CREDENTIALS;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    // Echo the input so typos are visible; it has no "@", so no user-info.
    const example = HOST_ONLY.test(input) ? `https://${input}` : 'https://vcenter.example.com';
    return `not a valid URL: ${JSON.stringify(input)} (expected e.g. ${example})`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    // "host:port" parses as scheme "host": say what was meant.
    if (HOST_ONLY.test(input)) {
      return `${JSON.stringify(input)} has no scheme (read as scheme ${JSON.stringify(url.protocol.slice(0, -1))}): did you mean https://${input}?`;
    }
    return `expected an http:// or https:// URL, got scheme ${JSON.stringify(url.protocol.slice(0, -1))}`;
  }
  if (url.username !== '' || url.password !== '') return CREDENTIALS;
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

const eventTypes = z.array(
  z
    .string({ error: 'expected an event type regular expression, e.g. "VmPoweredOffEvent"' })
    .refine(compiles(nameRegExp), {
      error: 'not a valid regular expression (JavaScript syntax, anchored at both ends)',
    }),
  { error: 'expected a list of event type regular expressions' },
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

/** Keys of a vCenter connection: the `vsphere` section and each `targets` entry. */
export const VSPHERE_SHAPE = {
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
  perf_batch_objects: int(1, 10_000),
  inventory: z.enum(['full', 'incremental'], { error: 'expected full or incremental' }),
  inventory_timeout_seconds: z
    .number({ error: 'expected a number of seconds between 10 and 86400' })
    .min(10)
    .max(86_400),
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
      max_timeout_seconds: positive(),
      timeout_offset_seconds: z.number({ error: 'expected a number >= 0' }).min(0),
      collection: z.enum(['on-scrape', 'background'], { error: 'expected on-scrape or background' }),
      interval_seconds: int(5, 3600),
      collection_timeout_seconds: positive(),
    }),
    log: section({
      level: z.enum(['debug', 'info', 'warn', 'error'], {
        error: 'expected one of debug, info, warn, error',
      }),
      format: z.enum(['logfmt', 'json'], { error: 'expected logfmt or json' }),
    }),
    filters,
    vm: section({
      snapshot_timestamps: bool(),
      instance_metrics: bool(),
      extra_counters: counters,
      datastore_usage: bool(),
      health: bool(),
    }),
    host: section({ extra_counters: counters }),
    historical: section({ enabled: bool() }),
    info_labels: section({
      tag_categories: z.array(text(), { error: 'expected a list of tag category names' }),
      custom_attributes: z.array(text(), { error: 'expected a list of custom attribute names' }),
    }),
    collectors: section(COLLECTOR_SHAPE),
    events: section({
      include: eventTypes,
      exclude: eventTypes,
      max_types: int(1, 10_000),
    }),
  },
  { error: 'expected a mapping' },
);

/** A validated layer, values already converted (URL, Secret). */
export type FileLayer = z.output<typeof FileSchema>;

export { parseLayer, type KeyNamer, type Layer } from './parse-layer.js';
