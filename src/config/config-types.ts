/**
 * The resolved configuration's types: what schema.ts and resolve.ts make of the layers, and what the
 * rest of the exporter reads.
 */
import type { Secret } from './secret.js';
import type { CollectorName } from '../model/names.js';
import type { FiltersSpec } from '../model/filters.js';

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
