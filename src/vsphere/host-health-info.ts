import type { XmlNode } from './answer-data.js';
import { bool, num, unslice } from './values.js';

/** The hardware components HostHardwareStatusInfo lists, as the exporter labels them. */
export const HARDWARE_COMPONENTS = ['memory', 'cpu', 'storage'] as const;
/** A component of HARDWARE_COMPONENTS. */
export type HardwareComponent = (typeof HARDWARE_COMPONENTS)[number];
/** HostHardwareElementStatus values, lower-cased (vim25 sends "Green", "Red", …). */
export const HARDWARE_STATES = ['green', 'yellow', 'red', 'unknown'] as const;

/** One HostHardwareElementInfo, decoded: component, element name and status. */
export interface HardwareElement {
  component: HardwareComponent;
  name: string;
  /** One of HARDWARE_STATES; any other key vCenter sends is kept as 'unknown'. */
  status: (typeof HARDWARE_STATES)[number];
}

/** One PhysicalNic, decoded: device name and its link (absent when the link is down). */
export interface PhysicalNicLink {
  device: string;
  /** linkSpeed.speedMb (megabits per second); absent = link down. */
  speedMb?: number;
  /** linkSpeed.duplex. */
  duplex?: boolean;
}

// A storage controller's status list can name every disk behind it; a host with hundreds of
// elements would make hundreds of series per scrape. Names are cut for the same reason.
/** At most this many elements per component and host are kept. */
export const MAX_ELEMENTS_PER_COMPONENT = 32;
/** At most this many physical NICs per host are kept. */
export const MAX_PNICS = 64;
const MAX_NAME = 128;

const TAGS: ReadonlyMap<string, HardwareComponent> = new Map([
  ['memoryStatusInfo', 'memory'],
  ['cpuStatusInfo', 'cpu'],
  ['storageStatusInfo', 'storage'],
]);
const STATES: ReadonlySet<string> = new Set(HARDWARE_STATES);

const clip = (s: string): string => unslice(s.length > MAX_NAME ? s.slice(0, MAX_NAME) : s);

// Of two elements with one name (some CIM providers repeat a controller), the worse status is kept.
const RANK: ReadonlyMap<string, number> = new Map([
  ['green', 0],
  ['unknown', 1],
  ['yellow', 2],
  ['red', 3],
]);

/**
 * Decodes HostHardwareStatusInfo (runtime.healthSystemRuntime.hardwareStatusInfo); nameless
 * entries and entries past the per-component cap are dropped, a repeated name kept once.
 */
export function hardwareElements(info: XmlNode | undefined): HardwareElement[] | undefined {
  if (!info) return undefined;
  const out: HardwareElement[] = [];
  const seen = new Map<HardwareComponent, Map<string, HardwareElement>>();
  for (const el of info.children) {
    const component = TAGS.get(el.name);
    if (!component) continue;
    const names = seen.get(component) ?? new Map<string, HardwareElement>();
    seen.set(component, names);
    const raw = el.children.find((c) => c.name === 'name')?.text.trim() ?? '';
    if (raw === '') continue;
    const key = el.children
      .find((c) => c.name === 'status')
      ?.children.find((c) => c.name === 'key')
      ?.text.trim()
      .toLowerCase();
    const status = key !== undefined && STATES.has(key) ? (key as HardwareElement['status']) : 'unknown';
    const name = clip(raw);
    const before = names.get(name);
    if (before) {
      if (RANK.get(status)! > RANK.get(before.status)!) before.status = status;
      continue;
    }
    if (names.size >= MAX_ELEMENTS_PER_COMPONENT) continue;
    const r: HardwareElement = { component, name, status };
    names.set(name, r);
    out.push(r);
  }
  return out;
}

/** Decodes ArrayOfPhysicalNic (config.network.pnic) to device and link; deviceless entries dropped. */
export function physicalNicLinks(list: XmlNode | undefined): PhysicalNicLink[] | undefined {
  if (!list) return undefined;
  const out: PhysicalNicLink[] = [];
  const seen = new Set<string>();
  for (const nic of list.children) {
    if (out.length >= MAX_PNICS) break;
    const device = nic.children.find((c) => c.name === 'device')?.text.trim() ?? '';
    if (device === '' || seen.has(device)) continue;
    seen.add(device);
    const r: PhysicalNicLink = { device: clip(device) };
    // vim25: "If this property is not set, the link is down" — no zero speed is sent for it.
    const link = nic.children.find((c) => c.name === 'linkSpeed');
    const speed = num(link?.children.find((c) => c.name === 'speedMb'));
    if (speed !== undefined) {
      r.speedMb = speed;
      const duplex = bool(link?.children.find((c) => c.name === 'duplex'));
      if (duplex !== undefined) r.duplex = duplex;
    }
    out.push(r);
  }
  return out;
}
