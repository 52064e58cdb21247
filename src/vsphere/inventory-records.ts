import type { XmlNode } from './soap/xml.js';
import { bool, compactByteArray, detached, epochSeconds, moRef, num, str, unslice } from './values.js';
import { hardwareSensors } from './host-sensor-info.js';
import { hardwareElements, physicalNicLinks } from './host-health-info.js';
import type { HostObject, VmObject } from './inventory.js';
import { VM_HEALTH_FIELDS } from './vm-health-info.js';

// One decoder per property path, shared by full reads and incremental updates: a changed
// property rewrites one field of an already compact record, so the watch never has to keep
// property trees between scrapes (it once did: ~110 MiB for 10,000 VMs).

type Field<T> = (r: T, v: XmlNode | undefined) => void;
// Maps, not objects: a property name is a string from vCenter, and "__proto__" or "constructor"
// must find no decoder rather than one of Object.prototype's.
const fields = <T>(o: Record<string, Field<T>>): ReadonlyMap<string, Field<T>> => new Map(Object.entries(o));

const mib = (n: number | undefined): number | undefined => (n === undefined ? undefined : n * 1024 * 1024);

const VM_FIELDS = fields<VmObject>({
  name: (r, v) => void (r.name = str(v) ?? r.moid),
  parent: (r, v) => void (r.parentMoid = moRef(v)?.value),
  parentVApp: (r, v) => void (r.parentVAppMoid = moRef(v)?.value),
  overallStatus: (r, v) => void (r.overallStatus = str(v)),
  'summary.config.numCpu': (r, v) => void (r.numCpu = num(v)),
  'summary.config.memorySizeMB': (r, v) => void (r.memoryBytes = mib(num(v))),
  'summary.config.instanceUuid': (r, v) => void (r.instanceUuid = str(v)),
  'summary.config.uuid': (r, v) => void (r.biosUuid = str(v)),
  'summary.config.template': (r, v) => void (r.template = bool(v) ?? false),
  'summary.config.guestFullName': (r, v) => void (r.guestFullName = str(v)),
  'summary.config.guestId': (r, v) => void (r.guestId = str(v)),
  'summary.runtime.powerState': (r, v) => void (r.powerState = str(v)),
  'summary.runtime.bootTime': (r, v) => void (r.bootTime = epochSeconds(v)),
  'summary.runtime.host': (r, v) => void (r.hostMoid = moRef(v)?.value),
  'summary.guest.hostName': (r, v) => void (r.guestHostName = str(v)),
  'summary.guest.ipAddress': (r, v) => void (r.guestIp = str(v)),
  'guest.toolsRunningStatus': (r, v) => void (r.toolsRunningStatus = str(v)),
  'guest.toolsVersionStatus2': (r, v) => void (r.toolsVersionStatus = str(v)),
  'guest.toolsVersion': (r, v) => void (r.toolsVersion = str(v)),
  // Kept as XML (copied off the answer) and decoded only by the collector that exports them.
  'guest.disk': (r, v) => void (r.guestDisks = detached(v)),
  snapshot: (r, v) => void (r.snapshot = detached(v)),
});

const SENSORS = 'runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo';

const HOST_FIELDS = fields<HostObject>({
  name: (r, v) => void (r.name = str(v) ?? r.moid),
  parent: (r, v) => void (r.parentMoid = moRef(v)?.value),
  'summary.hardware.cpuModel': (r, v) => void (r.cpuModel = str(v)),
  'summary.hardware.numCpuCores': (r, v) => void (r.cpuCores = num(v)),
  'summary.hardware.numCpuThreads': (r, v) => void (r.cpuThreads = num(v)),
  'summary.hardware.cpuMhz': (r, v) => void (r.cpuMhz = num(v)),
  'summary.hardware.memorySize': (r, v) => void (r.memoryBytes = num(v)),
  'summary.hardware.uuid': (r, v) => void (r.uuid = str(v)),
  'summary.hardware.vendor': (r, v) => void (r.vendor = str(v)),
  'summary.hardware.model': (r, v) => void (r.model = str(v)),
  'summary.config.product.version': (r, v) => void (r.version = str(v)),
  'summary.config.product.build': (r, v) => void (r.build = str(v)),
  'summary.runtime.connectionState': (r, v) => void (r.connectionState = str(v)),
  'summary.runtime.inMaintenanceMode': (r, v) => void (r.inMaintenanceMode = bool(v)),
  'summary.runtime.powerState': (r, v) => void (r.powerState = str(v)),
  'summary.runtime.bootTime': (r, v) => void (r.bootTime = epochSeconds(v)),
  'summary.quickStats.uptime': (r, v) => void (r.uptimeSeconds = num(v)),
  'config.service.service': (r, v) => void (r.ntpRunning = ntpdRunning(v)),
  // The whole HostNtpConfig, not its `server` list: vCenter leaves an empty list out, so only the
  // config being there tells "no NTP server" (0) from "not known".
  'config.dateTimeInfo.ntpConfig': (r, v) =>
    void (r.ntpServers = v && v.children.filter((c) => c.name === 'server').length),
  'summary.quickStats.overallCpuUsage': (r, v) => void (r.cpuUsageMhz = num(v)),
  'summary.quickStats.overallMemoryUsage': (r, v) => void (r.memoryUsageBytes = mib(num(v))),
  // ESXi lists ~100 software packages as "sensors" next to a handful of hardware ones: decoded
  // on arrival, software entries dropped.
  [SENSORS]: (r, v) => void (r.sensors = hardwareSensors(v)),
  // Both decoded on arrival to a few short strings per element: the PhysicalNic answer is ~1 KiB a NIC.
  'runtime.healthSystemRuntime.hardwareStatusInfo': (r, v) => void (r.hardwareStatus = hardwareElements(v)),
  'config.network.pnic': (r, v) => void (r.pnics = physicalNicLinks(v)),
});

/**
 * Any object but a VM or host (folder, datacenter, cluster, datastore, pool…): name and parent for
 * the tree, and every other property a collector asked for, kept as read (copied off the answer).
 */
export interface ParentObject {
  moid: string;
  type: string;
  name?: string;
  parent?: string;
  /** VirtualApp: the folder it is listed in. */
  parentFolder?: string;
  /** VirtualApp: the vApp it is nested in. */
  parentVApp?: string;
  props?: Map<string, XmlNode>;
}

const PARENT_FIELDS = fields<ParentObject>({
  name: (r, v) => void (r.name = str(v)),
  parent: (r, v) => void (r.parent = moRef(v)?.value),
  // A vApp's place in the VMs and Templates tree (a folder, or the vApp it is nested in).
  parentFolder: (r, v) => void (r.parentFolder = moRef(v)?.value),
  parentVApp: (r, v) => void (r.parentVApp = moRef(v)?.value),
});

/** One object of the inventory view, decoded. */
export type InventoryItem =
  { kind: 'vm'; vm: VmObject } | { kind: 'host'; host: HostObject } | ({ kind: 'parent' } & ParentObject);

/** Properties the inventory reads from VMs (one decoder each). */
export const VM_PATHS: readonly string[] = [...VM_FIELDS.keys()];
/** Properties the inventory reads from hosts (one decoder each). */
export const HOST_PATHS: readonly string[] = [...HOST_FIELDS.keys()];

/** A fresh record of an object whose properties are all absent (every field at its default). */
export function emptyItem(rawType: string, rawMoid: string): InventoryItem {
  const type = unslice(rawType);
  const moid = unslice(rawMoid);
  const it: InventoryItem =
    type === 'VirtualMachine'
      ? { kind: 'vm', vm: { moid, name: moid, template: false } }
      : type === 'HostSystem'
        ? { kind: 'host', host: { moid, name: moid } }
        : { kind: 'parent', moid, type };
  return it;
}

/**
 * Sets one property of a record (`undefined` = removed): decoded into its field, or, for a path
 * without one, kept as XML (copied off the answer) for the collector that asked for it. The
 * caller has already dropped paths nobody requested.
 */
export function setProperty(it: InventoryItem, path: string, v: XmlNode | undefined): void {
  if (it.kind === 'vm') {
    // The vm collector's storage and health paths are decoded too, when it asked for them.
    if (!decode(VM_FIELDS, it.vm, path, v) && !decode(VM_HEALTH_FIELDS, it.vm, path, v))
      it.vm.extra = setExtra(it.vm.extra, path, v);
  } else if (it.kind === 'host') {
    if (!decode(HOST_FIELDS, it.host, path, v)) it.host.extra = setExtra(it.host.extra, path, v);
  } else if (!decode(PARENT_FIELDS, it, path, v)) {
    // Few objects, few properties: kept as XML and read by the collector that asked for them.
    if (v === undefined) it.props?.delete(path);
    else (it.props ??= new Map()).set(unslice(path), detached(compactByteArray(v))!);
  }
}

// The map of a VM/host being built or already cloned (cloneItem copies it), so it is changed in place.
function setExtra(
  extra: ReadonlyMap<string, XmlNode> | undefined,
  path: string,
  v: XmlNode | undefined,
): ReadonlyMap<string, XmlNode> | undefined {
  const m = extra as Map<string, XmlNode> | undefined;
  if (v === undefined) {
    m?.delete(path);
    return m?.size ? m : undefined;
  }
  return (m ?? new Map<string, XmlNode>()).set(unslice(path), detached(compactByteArray(v))!);
}

function decode<T>(
  table: ReadonlyMap<string, Field<T>>,
  r: T,
  path: string,
  v: XmlNode | undefined,
): boolean {
  const field = table.get(path);
  field?.(r, v);
  return field !== undefined;
}

/** A copy of a record to change: an Inventory already handed out keeps seeing the old one. */
export function cloneItem(it: InventoryItem): InventoryItem {
  if (it.kind === 'vm')
    return { kind: 'vm', vm: { ...it.vm, ...(it.vm.extra && { extra: new Map(it.vm.extra) }) } };
  if (it.kind === 'host')
    return { kind: 'host', host: { ...it.host, ...(it.host.extra && { extra: new Map(it.host.extra) }) } };
  return { ...it, ...(it.props && { props: new Map(it.props) }) };
}

/** Decodes one object's properties into its record. */
export function toItem(type: string, moid: string, props: ReadonlyMap<string, XmlNode>): InventoryItem {
  const it = emptyItem(type, moid);
  for (const [path, v] of props) setProperty(it, path, v);
  return it;
}

// ESXi lists its services (ntpd, sshd, …) in one array; only ntpd's state is exported.
function ntpdRunning(services: XmlNode | undefined): boolean | undefined {
  for (const svc of services?.children ?? []) {
    const key = svc.children.find((c) => c.name === 'key')?.text;
    if (key === 'ntpd') return bool(svc.children.find((c) => c.name === 'running'));
  }
  return undefined;
}
