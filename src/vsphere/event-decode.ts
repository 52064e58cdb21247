// vCenter events (ReadNextEvents' returnval elements) decoded into the few fields the events
// collector counts; the rest of an event (its message, user, arguments) is never kept.
import { child, type XmlNode } from './answer-data.js';
import { unslice } from './values.js';

/** One event as the events collector sees it: what it is, what it is about, how bad, when. */
export interface EventRecord {
  /** Event.key: vCenter's event id, increasing with time. */
  key: number;
  /** The xsi:type (VmPoweredOnEvent), or the eventTypeId of an EventEx / ExtendedEvent, as vCenter sent it. */
  type: string;
  /** vim25 type of the entity the event is about (VirtualMachine, HostSystem...), "" when it names none. */
  entityType: string;
  /** EventEx.severity, else the category description.eventInfo gives the type; "" when neither says. */
  severity: string;
  /** Event.createdTime in Unix seconds. */
  createdSeconds: number;
  /** Event.createdTime as vCenter wrote it (full precision, its clock): where a new collector starts. */
  createdTime: string;
}

/** Where the events collector gets the events read in this collection (each event handed out once). */
export interface EventSource {
  read(signal?: AbortSignal): Promise<readonly EventRecord[]>;
}

// Type names and ids are identifiers; anything longer is not one (and is not kept whole).
const MAX_NAME = 256;

// Entity arguments of Event, most specific first: a VM event also names its host and datacenter.
const ENTITY_ARGS: readonly (readonly [string, string])[] = [
  ['vm', 'VirtualMachine'],
  ['host', 'HostSystem'],
  ['ds', 'Datastore'],
  ['net', 'Network'],
  ['dvs', 'DistributedVirtualSwitch'],
  ['computeResource', 'ComputeResource'],
  ['datacenter', 'Datacenter'],
];

/** description.eventInfo (EventDescriptionEventDetail[]) → event type → category (info, warning, error, user). */
export function decodeEventCategories(val: XmlNode | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of val?.children ?? []) {
    const key = text(d, 'key');
    const category = text(d, 'category');
    if (key && category && !out.has(key)) out.set(unslice(key), unslice(category));
  }
  return out;
}

/** One ReadNextEvents returnval → EventRecord; undefined when it has no key or no valid createdTime. */
export function decodeEvent(node: XmlNode, categories: ReadonlyMap<string, string>): EventRecord | undefined {
  const key = Number(text(node, 'key'));
  const createdTime = text(node, 'createdTime')?.trim() ?? '';
  const ms = Date.parse(createdTime);
  if (!Number.isSafeInteger(key) || !Number.isFinite(ms)) return undefined;
  const xsiType = node.attrs.type ?? '';
  let type = xsiType;
  let entityType = '';
  let severity: string;
  if (xsiType === 'EventEx' || xsiType === 'ExtendedEvent') {
    type = text(node, 'eventTypeId')?.trim() || xsiType;
    if (xsiType === 'EventEx') {
      entityType = text(node, 'objectType')?.trim() ?? '';
      // The schema: "null => info".
      severity = text(node, 'severity')?.trim() || 'info';
    } else {
      entityType = child(node, 'managedObject')?.attrs.type ?? '';
      severity = categories.get(type) ?? categories.get(xsiType) ?? '';
    }
  } else severity = categories.get(xsiType) ?? '';
  if (!entityType) entityType = entityOf(node);
  return {
    key,
    type: unslice(type.slice(0, MAX_NAME)),
    entityType: unslice(entityType.slice(0, MAX_NAME)),
    severity: unslice(severity.slice(0, MAX_NAME)),
    createdSeconds: ms / 1000,
    createdTime: unslice(createdTime.slice(0, 64)),
  };
}

// The first entity argument present; its reference's type when given (a cluster's computeResource
// is a ClusterComputeResource, a portgroup's net a DistributedVirtualPortgroup).
function entityOf(node: XmlNode): string {
  for (const [arg, fallback] of ENTITY_ARGS) {
    const a = child(node, arg);
    if (!a) continue;
    return child(a, arg)?.attrs.type || fallback;
  }
  return '';
}

function text(node: XmlNode, name: string): string | undefined {
  return child(node, name)?.text;
}
