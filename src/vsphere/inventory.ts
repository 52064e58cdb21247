import type { VimClient } from './client.js';
import { retrieveFiltered, withContainerView, type ObjectContent } from './property-collector.js';
import { isVsphereError } from './errors.js';
import { EntityTree, type EntityNode } from './entity-tree.js';
import type { XmlNode } from './soap/xml.js';
import type { NumericSensor } from './host-sensor-info.js';
import type { HardwareElement, PhysicalNicLink } from './host-health-info.js';
import type { VmHealthFields } from './vm-health-info.js';
import { toItem, type InventoryItem } from './inventory-records.js';
import {
  inventoryFilterSpec,
  isSingletonType,
  singletonRefs,
  type InventorySpecs,
} from './inventory-specs.js';
import { triggeredAlarmMoids, type AlarmNames } from './alarm-names.js';

export type { InventoryItem } from './inventory-records.js';

/** A virtual machine as the collectors see it. */
export interface VmObject extends VmHealthFields {
  moid: string;
  name: string;
  /** The VM's folder (absent for a VM inside a vApp). */
  parentMoid?: string;
  /** The vApp of a VM inside one (vCenter then leaves `parent` unset). */
  parentVAppMoid?: string;
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
  /** Requested properties without a field of their own (e.g. customValue), as read; see `Inventory.objects`. */
  extra?: ReadonlyMap<string, XmlNode>;
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
  /** NTP servers configured (config.dateTimeInfo.ntpConfig.server; 0 when the config lists none). */
  ntpServers?: number;
  /** CPU in use in MHz (summary.quickStats.overallCpuUsage). */
  cpuUsageMhz?: number;
  memoryUsageBytes?: number;
  /** Hardware sensors (runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo), decoded on arrival. */
  sensors?: NumericSensor[];
  /** Memory, CPU and storage element status (runtime.healthSystemRuntime.hardwareStatusInfo), capped. */
  hardwareStatus?: HardwareElement[];
  /** Physical NICs and their link (config.network.pnic), capped. */
  pnics?: PhysicalNicLink[];
  /** Requested properties without a field of their own (e.g. customValue, triggeredAlarmState), as read. */
  extra?: ReadonlyMap<string, XmlNode>;
}

/** Where a host sits: its cluster (empty for a standalone host) and datacenter. */
export interface Placement {
  cluster: string;
  datacenter: string;
}

/**
 * One consistent, immutable snapshot of the inventory model: every object any enabled collector
 * needs, read through one PropertyCollector filter. Collectors read only this (never vCenter).
 */
export interface Inventory {
  vms: VmObject[];
  hosts: HostObject[];
  hostsByMoid: Map<string, HostObject>;
  placement(hostMoid: string | undefined): Placement;
  /** Inventory path of any object read (e.g. "/DC0/vm/web/VM1"), when every link up to the root is known. */
  path(moid: string): string | undefined;
  /** The one parent tree of every object read, VMs and hosts included. */
  tree: EntityTree;
  /**
   * Objects of exactly vim25 `type` with the properties collectors asked for (as read; `name`
   * and `parent` are in `tree`), never filtered. For VirtualMachine and HostSystem: every VM/host
   * with its `extra` properties (the typed fields are in `vms`/`hosts`). Empty for a type not read.
   */
  objects(type: string): readonly ObjectContent[];
  /** Properties of a ServiceContent singleton read with the inventory, by its type (e.g. CustomFieldsManager). */
  singleton(type: string): ReadonlyMap<string, XmlNode> | undefined;
  /** Alarm.info.name by alarm moid, for the alarms named in any triggeredAlarmState read. */
  alarmNames: ReadonlyMap<string, string>;
}

/** What an Inventory is assembled from besides its objects. */
export interface InventoryExtras {
  /** Moid of ServiceContent.rootFolder (a ContainerView over it does not list it). */
  rootFolder?: string;
  singletons?: ReadonlyMap<string, ReadonlyMap<string, XmlNode>>;
  alarmNames?: ReadonlyMap<string, string>;
}

/** Reads the whole inventory of `specs` through one filter over a ContainerView (always destroyed). */
export async function fetchInventory(
  client: VimClient,
  specs: InventorySpecs,
  signal?: AbortSignal,
  alarms?: AlarmNames,
): Promise<Inventory> {
  const generation = client.session.generation;
  try {
    return await fetchOnce(client, specs, signal, alarms);
  } catch (e) {
    // A re-login during the read invalidated the view: read once more under the new session.
    if (generation !== client.session.generation && isVsphereError(e, 'VSPHERE_MANAGED_OBJECT_NOT_FOUND')) {
      return fetchOnce(client, specs, signal, alarms);
    }
    throw e;
  }
}

async function fetchOnce(
  client: VimClient,
  specs: InventorySpecs,
  signal?: AbortSignal,
  alarms?: AlarmNames,
): Promise<Inventory> {
  const content = await client.content(signal);
  const items: InventoryItem[] = [];
  const singletons = singletonRefs(specs, content);
  // Each object becomes its compact record as it arrives; its property tree is garbage at once.
  await withContainerView(client, content.rootFolder, specs.viewTypes, signal, (view) =>
    retrieveFiltered(
      client,
      inventoryFilterSpec(view, specs, singletons),
      specs.propSets,
      signal,
      1000,
      (o) => void items.push(toItem(o.obj.type, o.obj.value, o.props)),
    ),
  );
  const alarmNames = alarms ? await alarms.resolve(triggeredAlarmMoids(items), signal) : undefined;
  return assembleInventory(items, { rootFolder: content.rootFolder.value, alarmNames });
}

/** Turns raw ObjectContents into the inventory model (pure; exported for tests). */
export function buildInventory(objects: readonly ObjectContent[], extras: InventoryExtras = {}): Inventory {
  return assembleInventory(
    objects.map((o) => toItem(o.obj.type, o.obj.value, o.props)),
    extras,
  );
}

/** The inventory model from decoded items (pure). */
export function assembleInventory(items: readonly InventoryItem[], extras: InventoryExtras = {}): Inventory {
  const vms: VmObject[] = [];
  const hosts: HostObject[] = [];
  const nodes: EntityNode[] = [];
  const byType = new Map<string, ObjectContent[]>();
  const seen = new Set<string>();
  const singletons = new Map(extras.singletons);
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
    if (it.kind === 'vm') {
      vms.push(it.vm);
      nodes.push({
        moid: it.vm.moid,
        type: 'VirtualMachine',
        name: it.vm.name,
        parent: it.vm.parentMoid,
        listedIn: it.vm.parentVAppMoid,
      });
    } else if (it.kind === 'host') {
      hosts.push(it.host);
      nodes.push({ moid: it.host.moid, type: 'HostSystem', name: it.host.name, parent: it.host.parentMoid });
    } else if (isSingletonType(it.type)) {
      singletons.set(it.type, it.props ?? new Map<string, XmlNode>());
    } else {
      nodes.push({
        moid: it.moid,
        type: it.type,
        name: it.name,
        parent: it.parent,
        listedIn: it.parentFolder ?? it.parentVApp,
      });
      let list = byType.get(it.type);
      if (!list) byType.set(it.type, (list = []));
      list.push({ obj: { type: it.type, value: it.moid }, props: it.props ?? new Map<string, XmlNode>() });
    }
  }
  const tree = new EntityTree(nodes, extras.rootFolder);
  const hostsByMoid = new Map(hosts.map((h) => [h.moid, h]));
  const cache = new Map<string, Placement>();
  const placement = (hostMoid: string | undefined): Placement => {
    const host = hostMoid === undefined ? undefined : hostsByMoid.get(hostMoid);
    if (!host?.parentMoid) return { cluster: '', datacenter: '' };
    const hit = cache.get(host.parentMoid);
    if (hit) return hit;
    const compute = tree.get(host.parentMoid);
    const result = {
      cluster: compute?.type === 'ClusterComputeResource' ? (compute.name ?? '') : '',
      datacenter: tree.datacenter(host.moid),
    };
    cache.set(host.parentMoid, result);
    return result;
  };
  const none: readonly ObjectContent[] = [];
  // VMs and hosts as ObjectContents of their extra properties, built only when a collector asks.
  let vmObjects: readonly ObjectContent[] | undefined;
  let hostObjects: readonly ObjectContent[] | undefined;
  const objects = (type: string): readonly ObjectContent[] => {
    if (type === 'VirtualMachine') return (vmObjects ??= asObjects(type, vms));
    if (type === 'HostSystem') return (hostObjects ??= asObjects(type, hosts));
    return byType.get(type) ?? none;
  };
  return {
    vms,
    hosts,
    hostsByMoid,
    placement,
    path: (moid) => tree.path(moid),
    tree,
    objects,
    singleton: (type) => singletons.get(type),
    alarmNames: extras.alarmNames ?? new Map(),
  };
}

const NO_PROPS: ReadonlyMap<string, XmlNode> = new Map();

function asObjects(
  type: string,
  list: readonly { moid: string; extra?: ReadonlyMap<string, XmlNode> }[],
): ObjectContent[] {
  // The Map is read-only to collectors; typed as the shared ObjectContent.
  return list.map((r) => ({
    obj: { type, value: r.moid },
    props: (r.extra ?? NO_PROPS) as Map<string, XmlNode>,
  }));
}
