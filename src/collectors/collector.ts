import type { Logger } from 'pino';
import { MetricFamily, type MetricType } from '../exposition/index.js';
import type { Inventory } from '../vsphere/inventory.js';
import type { PerfManager } from '../vsphere/perf-manager.js';
import type { LicenseAssignmentSource } from '../vsphere/license-assignments.js';
import type { PropertySpec } from '../vsphere/answer-data.js';
import type { EventSource } from '../vsphere/event-decode.js';
import type { TagRead } from '../vsphere/tag-data.js';
import type { PromotedLabels } from './info-labels.js';
import type { CollectorName } from '../model/names.js';
import type { HostPerfShare } from './host-perf-share.js';

/** A metric family's fixed shape, declared once per module so docs/metrics.md is generated from the code. */
export interface FamilyDef {
  name: string;
  help: string;
  type: MetricType;
  labels: readonly string[];
}

/** A gauge FamilyDef (the common case). */
export function gauge(name: string, help: string, labels: readonly string[]): FamilyDef {
  return { name, help, type: 'gauge', labels };
}

/** A fresh, empty family of `def`'s shape for one collection. */
export function family(def: FamilyDef): MetricFamily {
  return new MetricFamily(def.name, def.help, def.type, def.labels);
}

/** An object as filters see it: its name and inventory path (e.g. "/DC0/host/C0/H0"), when known. */
export interface FilterSubject {
  name: string;
  path?: string;
}

/**
 * Decides which objects of a kind get series of their own (and are queried); consulted before any
 * query is sent for them. Aggregates of a cluster or datacenter still count filtered-out members.
 */
export interface ObjectFilter {
  allows(kind: CollectorName, subject: FilterSubject): boolean;
  /** False when `kind` has no rules, so callers can skip the per-object work (names, paths). */
  filters?(kind: CollectorName): boolean;
}

/** A filter that lets everything through. */
export const ALLOW_ALL: ObjectFilter = { allows: () => true, filters: () => false };

/** What a collector gets for one collection. */
export interface CollectContext {
  perf: PerfManager;
  /** The VMs and hosts `filter` allows: the objects that get series of their own. */
  inventory: Inventory;
  /**
   * The inventory before filters: counts that describe a cluster or datacenter as a whole count
   * every host and VM in it (absent: `inventory` is whole).
   */
  wholeInventory?: Inventory;
  filter: ObjectFilter;
  signal: AbortSignal;
  logger: Logger;
  /** Licence assignments (QueryAssignedLicenses, read at most once per interval); absent: not counted. */
  licenseAssignments?: LicenseAssignmentSource;
  /** The target's vCenter events, each handed out once (only when the events collector is enabled). */
  events?: EventSource;
  /** Promoted tag/attribute label values (`info_labels`), read once per collection; undefined when that read failed. */
  infoLabels?: Promise<PromotedLabels | undefined>;
  /** Host realtime samples of the counters collectors declare in `hostCounters` (one read per collection). */
  hostPerf?: HostPerfShare;
  /** This collection's vSphere tags (REST, read at most once per collection; only when the tag collector is enabled). */
  tags?: TagRead;
}

/** One resource kind's metrics (node_exporter style: own name, own success/duration series). */
export interface Collector {
  readonly name: CollectorName;
  /** Every family this collector can emit (the metric reference is generated from these). */
  readonly families: readonly FamilyDef[];
  /**
   * What this collector reads from the inventory model: per vim25 type, the properties it needs
   * (a ServiceContent singleton such as CustomFieldsManager by its type). The model unites the
   * specs of all enabled collectors into its one PropertyCollector filter, so the collector finds
   * them in `ctx.inventory` (objects(type), singleton(type), tree) and never reads vCenter itself.
   */
  readonly properties?: readonly PropertySpec[];
  /**
   * Host realtime counters (`group.name.rollup`, every instance) this collector reads through
   * `ctx.hostPerf`: the host collector's QueryPerf carries them, so they add no request.
   */
  readonly hostCounters?: readonly string[];
  /** True for the collector whose host QueryPerf feeds `ctx.hostPerf` (the host collector). */
  readonly feedsHostPerf?: boolean;
  /**
   * Emits finished families through `emit`. Families emitted before a failure are kept (their data
   * is complete); a family still being filled when an error is thrown is dropped with it.
   */
  collect(ctx: CollectContext, emit: (family: MetricFamily) => void): Promise<void>;
  /** The `info_labels` values of this collection (tag collector), sharing collect()'s vCenter reads. */
  infoLabels?(ctx: CollectContext): Promise<PromotedLabels>;
}
