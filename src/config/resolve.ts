// Merging validated layers into the runtime Config: defaults, targets, cross-key checks.
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { COLLECTOR_DEFAULTS, COLLECTOR_NAMES, type CollectorName } from '../model/names.js';
import { infoLabelProblems } from '../model/info-labels.js';
import type {
  CollectorOptions,
  Config,
  Layer,
  TargetConfig,
  VsphereConfig,
  VSPHERE_SHAPE,
} from './schema.js';

// Deadline of a scrape without Prometheus' timeout header.
const DEFAULT_TIMEOUT_SECONDS = 10;
// Safety cap on the header: Prometheus never sends more than its scrape_interval, and a collection
// that needs longer than two minutes needs background mode or fewer collectors, not more time.
const DEFAULT_MAX_TIMEOUT_SECONDS = 120;
// On-scrape mode: a collection slower than its scrape runs on this long from its start (four
// Prometheus intervals of 15 s), and answers no older than this are served to late scrapes.
const DEFAULT_COLLECTION_TIMEOUT_SECONDS = 60;

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
      'vsphere',
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
      // By name, not index: the name is what the target is known by, and it stays when the list is reordered.
      `targets[${raw.name}]`,
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
  const scrape = merge(layers.map((l) => l.data.scrape));
  const timeoutSeconds = scrape.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS;
  const maxTimeoutSeconds = scrape.max_timeout_seconds ?? DEFAULT_MAX_TIMEOUT_SECONDS;
  const named = (k: string): string =>
    layers.findLast((l) => l.data.scrape?.[k as 'timeout_seconds'] !== undefined)?.name(['scrape', k]) ??
    `scrape.${k}`;
  if (timeoutSeconds > maxTimeoutSeconds) {
    problems.push(
      `${named('timeout_seconds')}: ${timeoutSeconds} is above ${named('max_timeout_seconds')} (${maxTimeoutSeconds}), which caps every scrape's deadline`,
    );
  }
  // Explicitly above the cap is a contradiction; the default simply stays within it.
  const collectionTimeoutSeconds = Math.min(
    scrape.collection_timeout_seconds ?? DEFAULT_COLLECTION_TIMEOUT_SECONDS,
    maxTimeoutSeconds,
  );
  if ((scrape.collection_timeout_seconds ?? 0) > maxTimeoutSeconds)
    problems.push(
      `${named('collection_timeout_seconds')}: ${scrape.collection_timeout_seconds} is above ${named('max_timeout_seconds')} (${maxTimeoutSeconds}), which caps every collection`,
    );
  if (problems.length > 0) throw new ConfigError(problems);

  const web = merge(layers.map((l) => l.data.web));
  const log = merge(layers.map((l) => l.data.log));
  const vmOpts = merge(layers.map((l) => l.data.vm));
  const hostOpts = merge(layers.map((l) => l.data.host));
  const historical = merge(layers.map((l) => l.data.historical));
  const events = merge(layers.map((l) => l.data.events));
  const config: Config = {
    targets,
    filters: globalFilters,
    options: {
      vm: {
        snapshotTimestamps: vmOpts.snapshot_timestamps ?? false,
        instanceMetrics: vmOpts.instance_metrics ?? false,
        extraCounters: vmOpts.extra_counters ?? [],
        datastoreUsage: vmOpts.datastore_usage ?? false,
        health: vmOpts.health ?? false,
      },
      host: { extraCounters: hostOpts.extra_counters ?? [] },
      historical: historical.enabled ?? false,
      infoLabels,
      events: {
        include: events.include ?? [],
        exclude: events.exclude ?? [],
        maxTypes: events.max_types ?? 200,
      },
    },
    web: {
      listenAddress: web.listen_address ?? ':9272',
      telemetryPath: web.telemetry_path ?? '/metrics',
      maxRequests: web.max_requests ?? 64,
    },
    scrape: {
      timeoutSeconds,
      timeoutOffsetSeconds: scrape.timeout_offset_seconds ?? 0.5,
      maxTimeoutSeconds,
      collection: scrape.collection ?? 'on-scrape',
      intervalSeconds: scrape.interval_seconds ?? 20,
      collectionTimeoutSeconds,
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
  section: string,
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
    section,
    url: v.url,
    user: v.user,
    insecureSkipVerify: v.insecure_skip_verify ?? false,
    maxConnections: v.max_connections ?? 4,
    connectTimeoutMs: ms(v.connect_timeout_seconds ?? 10),
    requestTimeoutMs: ms(v.request_timeout_seconds ?? 60),
    // Responses are paged (maxObjects) and batched (256 objects), so none legitimately nears this;
    // parsing costs many times the body size in memory, so the cap bounds memory too.
    maxResponseBytes: v.max_response_bytes ?? 32 * 1024 * 1024,
    keepaliveIntervalMs: ms(v.keepalive_interval_seconds ?? 300),
    perfConcurrency: v.perf_concurrency,
    inventory: v.inventory ?? 'incremental',
    // A first read of 50,000 VMs takes a real vCenter minutes (~1,000 objects per answer).
    inventoryTimeoutMs: ms(v.inventory_timeout_seconds ?? 600),
  };
  // Optional keys are only set when present so `'password' in config.vsphere` stays meaningful.
  if (v.password !== undefined) out.password = v.password;
  if (v.password_file !== undefined) out.passwordFile = v.password_file;
  if (v.password_env !== undefined) out.passwordEnv = v.password_env;
  if (v.ca_file !== undefined) out.caFile = v.ca_file;
  if (v.server_name !== undefined) out.serverName = v.server_name;
  if (v.max_query_metrics !== undefined) out.maxQueryMetrics = v.max_query_metrics;
  if (v.perf_batch_objects !== undefined) out.perfBatchObjects = v.perf_batch_objects;
  return out;
}
