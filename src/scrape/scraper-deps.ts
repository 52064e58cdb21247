import type { Logger } from 'pino';
import type { CollectContext, Collector, ObjectFilter } from '../collectors/collector.js';
import type { PromotedLabels } from '../collectors/info-labels.js';
import type { CertificateInfo } from '../vsphere/certificate-info.js';
import type { VimClient } from '../vsphere/client.js';
import type { EventSource } from '../vsphere/event-decode.js';
import type { Inventory } from '../vsphere/inventory.js';
import type { LicenseAssignmentSource } from '../vsphere/license-assignments.js';
import type { PerfManager } from '../vsphere/perf-manager.js';
import type { TagSnapshotSource } from '../vsphere/tag-source.js';
import type { SoapStats } from './self-stats.js';
import type { RunOn } from './shared-collection.js';

/** How a scrape reads its answer. */
export interface Reads {
  /** It accepts gzip (Prometheus always does). */
  gzip: boolean;
}

/** Everything a Scraper needs. */
export interface ScraperDeps {
  client: VimClient;
  /** Where each collection's inventory comes from (kept current incrementally). */
  inventory: {
    fetch(signal?: AbortSignal): Promise<Inventory>;
    /** Why there is no inventory yet while a full read runs in the background (VSPHERE_INVENTORY_LOADING). */
    loading?(): Error | undefined;
  };
  perf: PerfManager;
  /** Licence assignments, read at most once per interval (the license collector's assigned assets). */
  licenseAssignments?: LicenseAssignmentSource;
  /** The target's event source, when the events collector is enabled. */
  events?: EventSource;
  /** The target's tags, when the tag collector is enabled (read at most once per collection). */
  tags?: TagSnapshotSource;
  collectors: readonly Collector[];
  /** Which objects are collected (default: all). */
  filter?: ObjectFilter;
  soapStats: SoapStats;
  /** Upper bound of one collection however long its scrapes may wait (scrape.max_timeout_seconds). */
  timeoutSeconds: number;
  /** The setting behind `timeoutSeconds`, named when that cap ends a collection. */
  timeoutSource?: string;
  /**
   * On-scrape mode: a collection slower than its scrapes runs on to `runOn.seconds` after its start,
   * and a scrape whose deadline passes answers the last complete collection (if it finished within
   * `runOn.seconds`). Absent: a collection ends at its waiters' latest deadline.
   */
  runOn?: RunOn;
  logger: Logger;
  version: string;
  /** Whether vCenter's TLS certificate is verified (false only with insecure_skip_verify). */
  tlsVerify?: boolean;
  /** The certificate vCenter presented on the latest TLS connection (vsphere_target_certificate_*). */
  peerCertificate?: () => CertificateInfo | undefined;
  /** Reads the `info_labels` values of a collection (from the tag collector), when promotion is configured. */
  infoLabels?: (ctx: CollectContext) => Promise<PromotedLabels>;
}
