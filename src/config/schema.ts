import { z } from 'zod';
import { Secret } from './secret.js';
import { COLLECTOR_NAMES, COUNTER_NAME_RE, type CollectorName } from '../model/names.js';
import { FILTER_KINDS, globRegExp, nameRegExp } from '../model/filters.js';

export type {
  CollectorOptions,
  Config,
  LogFormat,
  LogLevel,
  TargetConfig,
  VsphereConfig,
} from './config-types.js';

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
// Node fires a timer of more than 2^31-1 ms (~24.8 days) after 1 ms: a day bounds every duration.
const MAX_SECONDS = 86_400;
const positive = () =>
  z
    .number({ error: `expected a number of seconds > 0 and <= ${MAX_SECONDS}` })
    .positive()
    .max(MAX_SECONDS);
/** Paths the exporter serves itself: the telemetry path must not shadow one of them. */
export const RESERVED_PATHS: readonly string[] = [
  '/probe',
  '/-/healthy',
  '/-/ready',
  '/-/reload',
  '/favicon.ico',
];
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
  keepalive_interval_seconds: z
    .number({ error: `expected a number of seconds between 10 and ${MAX_SECONDS}` })
    .min(10)
    .max(MAX_SECONDS),
  perf_concurrency: int(1, 32),
  perf_batch_objects: int(1, 10_000),
  inventory: z.enum(['full', 'incremental'], { error: 'expected full or incremental' }),
  inventory_timeout_seconds: z
    .number({ error: `expected a number of seconds between 10 and ${MAX_SECONDS}` })
    .min(10)
    .max(MAX_SECONDS),
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
        .string({
          error: `expected a path starting with "/", e.g. "/metrics", other than "/" and ${RESERVED_PATHS.join(', ')}`,
        })
        .refine((s) => s.startsWith('/') && s !== '/' && !/[\s?#]/.test(s) && !RESERVED_PATHS.includes(s)),
      max_requests: int(1, 10_000),
    }),
    scrape: section({
      timeout_seconds: positive(),
      max_timeout_seconds: positive(),
      timeout_offset_seconds: z
        .number({ error: `expected a number of seconds between 0 and ${MAX_SECONDS}` })
        .min(0)
        .max(MAX_SECONDS),
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
