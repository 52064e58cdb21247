import type { VimClient } from './client.js';
import {
  retrieveFromView,
  withContainerView,
  type ObjectContent,
  type PropertySpec,
} from './property-collector.js';
import { isVsphereError } from './soap/errors.js';
import type { XmlNode } from './soap/xml.js';
import type { NumericSensor } from './host-sensor-info.js';
import { HOST_PATHS, toItem, VM_PATHS, type InventoryItem } from './inventory-records.js';

export type { InventoryItem } from './inventory-records.js';

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
    retrieveFromView(client, view, INVENTORY_SPECS, signal, 1000, (o) =>
      items.push(toItem(o.obj.type, o.obj.value, o.props)),
    ),
  );
  return assembleInventory(items);
}

/** Turns raw ObjectContents into the inventory model (pure; exported for tests). */
export function buildInventory(objects: readonly ObjectContent[]): Inventory {
  return assembleInventory(objects.map((o) => toItem(o.obj.type, o.obj.value, o.props)));
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
