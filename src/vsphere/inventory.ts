import type { VimClient } from './client.js';
import {
  retrieveFromView,
  withContainerView,
  type ObjectContent,
  type PropertySpec,
} from './property-collector.js';
import { isVsphereError } from './soap/errors.js';
import type { XmlNode } from './soap/xml.js';
import { bool, detached, epochSeconds, moRef, num, str } from './values.js';
import { hardwareSensors, pruneSoftwareSensors, type NumericSensor } from './host-sensor-info.js';

/** A virtual machine as the collectors see it. */
export interface VmObject {
  moid: string;
  name: string;
  /** The VM's folder (absent for a VM inside a vApp). */
  parentMoid?: string;
  /** gray, green, yellow or red (overallStatus). */
  overallStatus?: string;
  numCpu?: number;
  memoryBytes?: number;
  instanceUuid?: string;
  biosUuid?: string;
  template: boolean;
  guestFullName?: string;
  guestId?: string;
  powerState?: string;
  bootTime?: number;
  hostMoid?: string;
  guestHostName?: string;
  guestIp?: string;
  toolsRunningStatus?: string;
  toolsVersionStatus?: string;
  toolsVersion?: string;
  // Kept as XML (copied off the answer's text) and decoded only by the collector that exports them.
  /** VirtualMachineSnapshotInfo (`snapshot`), absent without snapshots. */
  snapshot?: XmlNode;
  /** ArrayOfGuestDiskInfo (`guest.disk`). */
  guestDisks?: XmlNode;
}

/** An ESXi host as the collectors see it. */
export interface HostObject {
  moid: string;
  name: string;
  parentMoid?: string;
  cpuModel?: string;
  cpuCores?: number;
  cpuThreads?: number;
  cpuMhz?: number;
  memoryBytes?: number;
  uuid?: string;
  vendor?: string;
  model?: string;
  version?: string;
  build?: string;
  connectionState?: string;
  inMaintenanceMode?: boolean;
  powerState?: string;
  bootTime?: number;
  uptimeSeconds?: number;
  /** Whether the ntpd service runs (config.service.service[key=ntpd].running). */
  ntpRunning?: boolean;
  /** NTP servers configured (config.dateTimeInfo.ntpConfig.server). */
  ntpServers?: number;
  memoryUsageBytes?: number;
  /** Hardware sensors (runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo), decoded on arrival. */
  sensors?: NumericSensor[];
}

/** Where a host sits: its cluster (empty for a standalone host) and datacenter. */
export interface Placement {
  cluster: string;
  datacenter: string;
}

/** One consistent read of the VM/host inventory. */
export interface Inventory {
  vms: VmObject[];
  hosts: HostObject[];
  hostsByMoid: Map<string, HostObject>;
  placement(hostMoid: string | undefined): Placement;
  /** Inventory path of a VM or host (e.g. "/DC0/vm/web/VM1"), when the inventory knows it. */
  path?(moid: string): string | undefined;
}

const VM_PATHS = [
  'name',
  'parent',
  'overallStatus',
  'summary.config.numCpu',
  'summary.config.memorySizeMB',
  'summary.config.instanceUuid',
  'summary.config.uuid',
  'summary.config.template',
  'summary.config.guestFullName',
  'summary.config.guestId',
  'summary.runtime.powerState',
  'summary.runtime.bootTime',
  'summary.runtime.host',
  'summary.guest.hostName',
  'summary.guest.ipAddress',
  'guest.toolsRunningStatus',
  'guest.toolsVersionStatus2',
  'guest.toolsVersion',
  'guest.disk',
  'snapshot',
] as const;

const SENSORS = 'runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo';

/** A property value as the incremental inventory keeps it between scrapes (large lists pruned). */
export function keptValue(path: string, val: XmlNode): XmlNode {
  return path === SENSORS ? pruneSoftwareSensors(val) : val;
}
const HOST_PATHS = [
  'name',
  'parent',
  'summary.hardware.cpuModel',
  'summary.hardware.numCpuCores',
  'summary.hardware.numCpuThreads',
  'summary.hardware.cpuMhz',
  'summary.hardware.memorySize',
  'summary.hardware.uuid',
  'summary.hardware.vendor',
  'summary.hardware.model',
  'summary.config.product.version',
  'summary.config.product.build',
  'summary.runtime.connectionState',
  'summary.runtime.inMaintenanceMode',
  'summary.runtime.powerState',
  'summary.runtime.bootTime',
  'summary.quickStats.uptime',
  'config.service.service',
  'config.dateTimeInfo.ntpConfig.server',
  'summary.quickStats.overallMemoryUsage',
  SENSORS,
] as const;

/** What the inventory reads: per type, the properties the collectors need. Parents are walked host → compute resource/cluster → folders → datacenter. */
export const INVENTORY_SPECS: readonly PropertySpec[] = [
  { type: 'VirtualMachine', pathSet: VM_PATHS },
  { type: 'HostSystem', pathSet: HOST_PATHS },
  { type: 'ClusterComputeResource', pathSet: ['name', 'parent'] },
  { type: 'ComputeResource', pathSet: ['name', 'parent'] },
  { type: 'Datacenter', pathSet: ['name', 'parent'] },
  { type: 'Folder', pathSet: ['name', 'parent'] },
];
/** Types the inventory's ContainerView holds. */
export const INVENTORY_TYPES: readonly string[] = INVENTORY_SPECS.map((s) => s.type);

/** Reads the whole VM/host inventory through one ContainerView (always destroyed). */
export async function fetchInventory(client: VimClient, signal?: AbortSignal): Promise<Inventory> {
  const generation = client.session.generation;
  try {
    return await fetchOnce(client, signal);
  } catch (e) {
    // A re-login during the read invalidated the view: read once more under the new session.
    if (generation !== client.session.generation && isVsphereError(e, 'VSPHERE_MANAGED_OBJECT_NOT_FOUND')) {
      return fetchOnce(client, signal);
    }
    throw e;
  }
}

async function fetchOnce(client: VimClient, signal?: AbortSignal): Promise<Inventory> {
  const content = await client.content(signal);
  const items: InventoryItem[] = [];
  // Each object becomes its compact record as it arrives; its property tree is garbage at once.
  await withContainerView(client, content.rootFolder, INVENTORY_TYPES, signal, (view) =>
    retrieveFromView(client, view, INVENTORY_SPECS, signal, 1000, (o) => items.push(toItem(o))),
  );
  return assembleInventory(items);
}

/** One object of the inventory view, decoded. */
export type InventoryItem =
  | { kind: 'vm'; vm: VmObject }
  | { kind: 'host'; host: HostObject }
  | { kind: 'parent'; moid: string; type: string; name?: string; parent?: string };

/** Decodes one ObjectContent of the inventory view (pure). */
export function toItem(o: ObjectContent): InventoryItem {
  const p = o.props;
  if (o.obj.type === 'VirtualMachine') return { kind: 'vm', vm: toVm(o.obj.value, p) };
  if (o.obj.type === 'HostSystem') return { kind: 'host', host: toHost(o.obj.value, p) };
  return {
    kind: 'parent',
    moid: o.obj.value,
    type: o.obj.type,
    name: str(p.get('name')),
    parent: moRef(p.get('parent'))?.value,
  };
}

/** Turns raw ObjectContents into the inventory model (pure; exported for tests). */
export function buildInventory(objects: readonly ObjectContent[]): Inventory {
  return assembleInventory(objects.map(toItem));
}

/** The inventory model from decoded items (pure). */
export function assembleInventory(items: readonly InventoryItem[]): Inventory {
  const vms: VmObject[] = [];
  const hosts: HostObject[] = [];
  const parents = new Map<string, { type: string; name?: string; parent?: string }>();
  const seen = new Set<string>();
  for (const it of items) {
    // An object listed twice (a misbehaving server or proxy) must not become duplicate series.
    const key =
      it.kind === 'vm'
        ? `vm:${it.vm.moid}`
        : it.kind === 'host'
          ? `host:${it.host.moid}`
          : `${it.type}:${it.moid}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (it.kind === 'vm') vms.push(it.vm);
    else if (it.kind === 'host') hosts.push(it.host);
    else parents.set(it.moid, { type: it.type, name: it.name, parent: it.parent });
  }
  const hostsByMoid = new Map(hosts.map((h) => [h.moid, h]));
  const cache = new Map<string, Placement>();
  const placement = (hostMoid: string | undefined): Placement => {
    const host = hostMoid === undefined ? undefined : hostsByMoid.get(hostMoid);
    if (!host?.parentMoid) return { cluster: '', datacenter: '' };
    const hit = cache.get(host.parentMoid);
    if (hit) return hit;
    const compute = parents.get(host.parentMoid);
    let datacenter = '';
    // Bounded walk: folders nest, but never more deeply than vCenter's inventory allows.
    for (let id = compute?.parent, i = 0; id !== undefined && i < 64; i++) {
      const node = parents.get(id);
      if (!node) break;
      if (node.type === 'Datacenter') {
        datacenter = node.name ?? '';
        break;
      }
      id = node.parent;
    }
    const result = {
      cluster: compute?.type === 'ClusterComputeResource' ? (compute.name ?? '') : '',
      datacenter,
    };
    cache.set(host.parentMoid, result);
    return result;
  };
  const vmsByMoid = new Map(vms.map((v) => [v.moid, v]));
  // The root folder is not in a view over itself: a walk ends at the first parent not read.
  const path = (moid: string): string | undefined => {
    const own = vmsByMoid.get(moid) ?? hostsByMoid.get(moid);
    if (!own) return undefined;
    const names = [own.name];
    for (let id = own.parentMoid, i = 0; id !== undefined && i < 64; i++) {
      const node = parents.get(id);
      if (!node) return `/${names.reverse().join('/')}`;
      // A VM in a vApp has no folder parent; a nameless link means an incomplete read.
      if (node.name === undefined) return undefined;
      names.push(node.name);
      id = node.parent;
    }
    return undefined;
  };
  return { vms, hosts, hostsByMoid, placement, path };
}

function toVm(moid: string, p: Map<string, XmlNode>): VmObject {
  const memMb = num(p.get('summary.config.memorySizeMB'));
  return {
    moid,
    name: str(p.get('name')) ?? moid,
    parentMoid: moRef(p.get('parent'))?.value,
    overallStatus: str(p.get('overallStatus')),
    numCpu: num(p.get('summary.config.numCpu')),
    memoryBytes: memMb === undefined ? undefined : memMb * 1024 * 1024,
    instanceUuid: str(p.get('summary.config.instanceUuid')),
    biosUuid: str(p.get('summary.config.uuid')),
    template: bool(p.get('summary.config.template')) ?? false,
    guestFullName: str(p.get('summary.config.guestFullName')),
    guestId: str(p.get('summary.config.guestId')),
    powerState: str(p.get('summary.runtime.powerState')),
    bootTime: epochSeconds(p.get('summary.runtime.bootTime')),
    hostMoid: moRef(p.get('summary.runtime.host'))?.value,
    guestHostName: str(p.get('summary.guest.hostName')),
    guestIp: str(p.get('summary.guest.ipAddress')),
    toolsRunningStatus: str(p.get('guest.toolsRunningStatus')),
    toolsVersionStatus: str(p.get('guest.toolsVersionStatus2')),
    toolsVersion: str(p.get('guest.toolsVersion')),
    snapshot: detached(p.get('snapshot')),
    guestDisks: detached(p.get('guest.disk')),
  };
}

function toHost(moid: string, p: Map<string, XmlNode>): HostObject {
  return {
    moid,
    name: str(p.get('name')) ?? moid,
    parentMoid: moRef(p.get('parent'))?.value,
    cpuModel: str(p.get('summary.hardware.cpuModel')),
    cpuCores: num(p.get('summary.hardware.numCpuCores')),
    cpuThreads: num(p.get('summary.hardware.numCpuThreads')),
    cpuMhz: num(p.get('summary.hardware.cpuMhz')),
    memoryBytes: num(p.get('summary.hardware.memorySize')),
    uuid: str(p.get('summary.hardware.uuid')),
    vendor: str(p.get('summary.hardware.vendor')),
    model: str(p.get('summary.hardware.model')),
    version: str(p.get('summary.config.product.version')),
    build: str(p.get('summary.config.product.build')),
    connectionState: str(p.get('summary.runtime.connectionState')),
    inMaintenanceMode: bool(p.get('summary.runtime.inMaintenanceMode')),
    powerState: str(p.get('summary.runtime.powerState')),
    bootTime: epochSeconds(p.get('summary.runtime.bootTime')),
    uptimeSeconds: num(p.get('summary.quickStats.uptime')),
    ntpRunning: ntpdRunning(p.get('config.service.service')),
    ntpServers: p.get('config.dateTimeInfo.ntpConfig.server')?.children.length,
    memoryUsageBytes: mb(num(p.get('summary.quickStats.overallMemoryUsage'))),
    sensors: hardwareSensors(p.get(SENSORS)),
  };
}

function mb(n: number | undefined): number | undefined {
  return n === undefined ? undefined : n * 1024 * 1024;
}

// ESXi lists its services (ntpd, sshd, …) in one array; only ntpd's state is exported.
function ntpdRunning(services: XmlNode | undefined): boolean | undefined {
  for (const svc of services?.children ?? []) {
    const key = svc.children.find((c) => c.name === 'key')?.text;
    if (key === 'ntpd') return bool(svc.children.find((c) => c.name === 'running'));
  }
  return undefined;
}
