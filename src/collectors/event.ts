import type { EventRecord } from '../vsphere/event-decode.js';
import { MANAGED_ENTITY_TYPES } from './entity-types.js';
import type { CollectContext, Collector, FamilyDef } from './collector.js';
import { family, gauge } from './collector.js';

const TOTAL: FamilyDef = {
  name: 'vsphere_events_total',
  help: 'vCenter events read since the exporter started (EventHistoryCollector.ReadNextEvents), by type (the xsi:type, e.g. VmPoweredOnEvent, or the eventTypeId of an EventEx/ExtendedEvent; "other" past events.max_types or for a name that is not an identifier), entity_kind (vim25 type of the entity the event is about; "none", "other") and severity (EventEx.severity, else the category EventManager.description.eventInfo gives the type: info, warning, error, user; "unknown").',
  type: 'counter',
  labels: ['type', 'entity_kind', 'severity'],
};
const LATEST = gauge(
  'vsphere_events_latest_timestamp_seconds',
  'Unix time (vCenter clock) of the newest event read since the exporter started, whatever events.include/exclude say; absent until one is read.',
  [],
);

/** Which event types are counted, and how many distinct type values get series of their own. */
export interface EventCollectorOptions {
  /** Anchored patterns; a type is counted when it matches one (empty: every type). */
  include?: readonly RegExp[];
  /** Anchored patterns; a type that matches one is not counted. */
  exclude?: readonly RegExp[];
  /** Distinct `type` values before new ones count as "other"; default 200. */
  maxTypes?: number;
}

/** The `type` label value of events past the cap or whose name is not an identifier. */
export const OTHER = 'other';
const DEFAULT_MAX_TYPES = 200;
// Type names are identifiers (VmPoweredOnEvent, com.vmware.vc.ha.VmRestartedByHAEvent,
// esx.problem.net.connectivity.lost): anything else is free text and never becomes a label.
const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const SEVERITIES: ReadonlySet<string> = new Set(['info', 'warning', 'error', 'user']);
// A Set: the entity type comes from vCenter.
const ENTITY_KINDS: ReadonlySet<string> = new Set(MANAGED_ENTITY_TYPES);

/** The label values an event is counted under, or undefined when include/exclude leave it out. */
export function eventLabels(
  e: Pick<EventRecord, 'type' | 'entityType' | 'severity'>,
  opts: EventCollectorOptions,
): [type: string, entityKind: string, severity: string] | undefined {
  if (opts.include?.length && !opts.include.some((r) => r.test(e.type))) return undefined;
  if (opts.exclude?.some((r) => r.test(e.type))) return undefined;
  const type = TYPE_NAME.test(e.type) ? e.type : OTHER;
  const kind = e.entityType === '' ? 'none' : ENTITY_KINDS.has(e.entityType) ? e.entityType : OTHER;
  const severity = SEVERITIES.has(e.severity) ? e.severity : 'unknown';
  return [type, kind, severity];
}

/**
 * Counts of vCenter events: the target's event source hands each event over once (ctx.events),
 * this collector keeps the running totals for the exporter's life. Off by default: reading events
 * is one ReadNextEvents per scrape on top of the model's WaitForUpdatesEx.
 */
export function createEventCollector(opts: EventCollectorOptions = {}): Collector {
  const maxTypes = opts.maxTypes ?? DEFAULT_MAX_TYPES;
  // Label tuple (JSON) → labels and count; Maps, as every value comes from vCenter.
  const counts = new Map<string, { labels: string[]; n: number }>();
  const types = new Set<string>();
  let latest: number | undefined;
  const count = (e: EventRecord): void => {
    if (latest === undefined || e.createdSeconds > latest) latest = e.createdSeconds;
    const labels = eventLabels(e, opts);
    if (!labels) return;
    if (labels[0] !== OTHER && !types.has(labels[0])) {
      if (types.size >= maxTypes) labels[0] = OTHER;
      else types.add(labels[0]);
    }
    const id = JSON.stringify(labels);
    const c = counts.get(id);
    if (c) c.n++;
    else counts.set(id, { labels, n: 1 });
  };
  return {
    name: 'events',
    families: [TOTAL, LATEST],
    async collect(ctx: CollectContext, emit): Promise<void> {
      if (!ctx.events) throw new Error('no event source for this target');
      for (const e of await ctx.events.read(ctx.signal)) count(e);
      const total = family(TOTAL);
      for (const { labels, n } of counts.values()) total.add(labels, n);
      emit(total);
      const latestFamily = family(LATEST);
      if (latest !== undefined) latestFamily.add([], latest);
      emit(latestFamily);
    },
  };
}

/** The events collector with default options (its families, for the metric reference). */
export const eventCollector: Collector = createEventCollector();
