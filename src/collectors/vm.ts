import { setImmediate as nextTurn } from 'node:timers/promises';
import { renderLabels, type RenderedLabels } from '../exposition/index.js';
import type { VmObject } from '../vsphere/inventory.js';
import type { CollectContext, Collector } from './collector.js';
import { family, gauge } from './collector.js';
import { addStateSet, perfFamiliesInFlight, perfFamilyDefs } from './perf-families.js';
import { extraCounterDefs, VM_PERF } from './perf-metrics.js';
import { VM_INSTANCE_PERF } from './perf-instance-metrics.js';
import { VM_HEALTH_FAMILIES, VM_HEALTH_PROPERTIES, VmHealthSeries } from './vm-health.js';
import { addSnapshotSeries, SNAPSHOT_CREATED, SNAPSHOT_OLDEST_AGE, SNAPSHOTS } from './vm-snapshot.js';
import {
  addFilesystemSeries,
  FS_CAPACITY,
  FS_FREE,
  TOOLS_RUNNING,
  TOOLS_RUNNING_STATES,
  TOOLS_VERSION_STATUS,
  TOOLS_VERSION_STATES,
} from './vm-guest.js';

const ID = ['vm', 'vm_moid'] as const;
// VMs whose families are built between two turns of the event loop (~5 ms of work).
const YIELD_EVERY = 1000;
const POWER_STATES = ['poweredOn', 'poweredOff', 'suspended'] as const;
const INFO_LABELS = [
  ...ID,
  'instance_uuid',
  'bios_uuid',
  'host',
  'host_moid',
  'cluster',
  'datacenter',
  'guest_os',
  'guest_id',
  'guest_hostname',
  'guest_ip',
  'template',
  'tools_version',
] as const;

const INFO = gauge(
  'vsphere_vm_info',
  'Descriptive labels of a virtual machine; value is always 1.',
  INFO_LABELS,
);
const POWER = gauge(
  'vsphere_vm_power_state',
  'Power state of the VM: 1 for the current state (summary.runtime.powerState).',
  [...ID, 'state'],
);
const BOOT = gauge(
  'vsphere_vm_boot_timestamp_seconds',
  'Unix time the VM was last powered on (summary.runtime.bootTime).',
  ID,
);
const CPUS = gauge('vsphere_vm_cpus', 'Configured virtual CPUs (summary.config.numCpu).', ID);
const MEMORY = gauge(
  'vsphere_vm_memory_bytes',
  'Configured memory in bytes (summary.config.memorySizeMB).',
  ID,
);

/** What vsphere_vm_info's labels take from outside a VM's record: its host's name, placement, tags. */
interface InfoOutside {
  host: string;
  cluster: string;
  datacenter: string;
  tags: readonly string[];
}

/** A VM's rendered label blocks, kept while its inventory record is unchanged. */
interface VmLabels {
  id: readonly string[];
  rendered: RenderedLabels;
  /** vsphere_vm_info's block, and what it was rendered with outside the record. */
  info?: InfoOutside & { rendered: RenderedLabels };
}

/** Options of the vm collector (wired to config keys by the caller). */
export interface VmCollectorOptions {
  /** Export vsphere_vm_snapshot_created_timestamp_seconds, one series per snapshot. */
  snapshotTimestamps?: boolean;
  /** Export per-vNIC, per-virtual-disk and per-vCPU counters (instance "*" queries: more data per VM). */
  instanceMetrics?: boolean;
  /** More realtime counters (`group.name.rollup`), exported under generated names. */
  extraCounters?: readonly string[];
  /** Export the storage and runtime-health families (default false): up to 8 series per VM. */
  health?: boolean;
  /** Export vsphere_vm_datastore_*_bytes, per VM and datastore (storage.perDatastoreUsage): 3 series per VM and datastore. */
  datastoreUsage?: boolean;
  /** Promoted tag/attribute label names appended to vsphere_vm_info (`info_labels`). */
  infoLabels?: readonly string[];
}

/** Virtual machines: identity, configuration, power state, snapshots, storage and runtime health, guest state and realtime performance. */
export function createVmCollector(options: VmCollectorOptions = {}): Collector {
  const base = options.instanceMetrics ? [...VM_PERF, ...VM_INSTANCE_PERF] : VM_PERF;
  const perfDefs = [...base, ...extraCounterDefs(options.extraCounters ?? [], base)];
  const promoted = options.infoLabels ?? [];
  const infoDef = promoted.length > 0 ? gauge(INFO.name, INFO.help, [...INFO.labels, ...promoted]) : INFO;
  // The inventory keeps an unchanged VM's record from one snapshot to the next: its blocks are
  // rendered once, not every scrape (at 10,000 VMs, blocks made anew would be ~7 MB a scrape that
  // lives through the collection and is then collected from the old generation).
  const labelsByVm = new WeakMap<VmObject, VmLabels>();
  const labelsOfVm = (vm: VmObject): VmLabels => {
    let kept = labelsByVm.get(vm);
    if (!kept) {
      const id = [vm.name, vm.moid];
      kept = { id, rendered: renderLabels(ID, id) };
      labelsByVm.set(vm, kept);
    }
    return kept;
  };
  return {
    name: 'vm',
    // Read only when exported: layoutEx and storage add ~1.5 KB per VM to the first read.
    ...(options.health ? { properties: VM_HEALTH_PROPERTIES } : {}),
    families: [
      infoDef,
      POWER,
      BOOT,
      CPUS,
      MEMORY,
      SNAPSHOTS,
      SNAPSHOT_OLDEST_AGE,
      SNAPSHOT_CREATED,
      TOOLS_RUNNING,
      TOOLS_VERSION_STATUS,
      FS_CAPACITY,
      FS_FREE,
      ...VM_HEALTH_FAMILIES,
      ...perfFamilyDefs('vsphere_vm', ID, [...VM_PERF, ...VM_INSTANCE_PERF]),
    ],
    async collect(ctx: CollectContext, emit): Promise<void> {
      const { inventory } = ctx;
      const labelsOf = promoted.length > 0 ? await ctx.infoLabels : undefined;
      const blank = promoted.map(() => '');
      const info = family(infoDef);
      const power = family(POWER);
      const boot = family(BOOT);
      const cpus = family(CPUS);
      const memory = family(MEMORY);
      const snap = {
        count: family(SNAPSHOTS),
        oldestAge: family(SNAPSHOT_OLDEST_AGE),
        created: options.snapshotTimestamps ? family(SNAPSHOT_CREATED) : undefined,
      };
      const toolsRunning = family(TOOLS_RUNNING);
      const toolsVersion = family(TOOLS_VERSION_STATUS);
      const fsCapacity = family(FS_CAPACITY);
      const fsFree = family(FS_FREE);
      const health = options.health
        ? new VmHealthSeries(inventory, options.datastoreUsage ?? false)
        : undefined;
      const now = Date.now() / 1000;
      // Rendered once, shared by every series of a VM that has only the id labels (or one more).
      const vms = inventory.vms;
      const kept: VmLabels[] = [];
      const targets = [];
      for (const vm of vms) {
        const labels = labelsOfVm(vm);
        kept.push(labels);
        // Realtime statistics exist only for running VMs; templates never run.
        if (vm.powerState === 'poweredOn' && !vm.template) {
          const entity = { type: 'VirtualMachine', value: vm.moid };
          targets.push({ entity, labels: labels.id, rendered: labels.rendered });
        }
      }
      const perf = await perfFamiliesInFlight(ctx.perf, 'vsphere_vm', ID, perfDefs, targets, ctx.signal);
      for (let i = 0; i < vms.length; i++) {
        // A QueryPerf body of 256 VMs takes several socket writes, each on a turn of the event loop:
        // this loop leaves room for them every so often instead of holding them back until its end.
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
        const vm = vms[i]!;
        const labels = kept[i]!;
        const { id, rendered } = labels;
        const host = vm.hostMoid === undefined ? undefined : inventory.hostsByMoid.get(vm.hostMoid);
        const place = inventory.placement(vm.hostMoid);
        // Compared field by field: no array per VM and scrape for what rarely changes.
        const hostName = host?.name ?? '';
        const tags = labelsOf?.(vm.moid) ?? blank;
        let block = labels.info;
        if (
          !block ||
          block.host !== hostName ||
          block.cluster !== place.cluster ||
          block.datacenter !== place.datacenter ||
          !sameValues(block.tags, tags)
        ) {
          const outside = { host: hostName, cluster: place.cluster, datacenter: place.datacenter, tags };
          block = labels.info = {
            ...outside,
            rendered: renderLabels(infoDef.labels, infoValues(vm, id, outside)),
          };
        }
        info.addRendered(block.rendered, 1);
        addStateSet(power, rendered, POWER_STATES, vm.powerState);
        if (vm.bootTime !== undefined && vm.powerState === 'poweredOn')
          boot.addRendered(rendered, vm.bootTime);
        if (vm.numCpu !== undefined) cpus.addRendered(rendered, vm.numCpu);
        if (vm.memoryBytes !== undefined) memory.addRendered(rendered, vm.memoryBytes);
        addSnapshotSeries(id, rendered, vm.snapshot, now, snap);
        if (vm.toolsRunningStatus !== undefined)
          addStateSet(toolsRunning, rendered, TOOLS_RUNNING_STATES, vm.toolsRunningStatus);
        if (vm.toolsVersionStatus !== undefined)
          addStateSet(toolsVersion, rendered, TOOLS_VERSION_STATES, vm.toolsVersionStatus);
        addFilesystemSeries(id, vm.guestDisks, fsCapacity, fsFree);
        health?.add(vm, id, rendered);
      }
      for (const f of [info, power, boot, cpus, memory, snap.count, snap.oldestAge]) emit(f);
      if (snap.created) emit(snap.created);
      for (const f of [toolsRunning, toolsVersion, fsCapacity, fsFree, ...(health?.families() ?? [])])
        emit(f);
      for (const f of await perf.families) emit(f);
    },
  };
}

// vsphere_vm_info's label values: the record's, and what they depend on outside it.
function infoValues(
  vm: VmObject,
  id: readonly string[],
  {
    host,
    cluster,
    datacenter,
    tags,
  }: { host: string; cluster: string; datacenter: string; tags: readonly string[] },
): string[] {
  return [
    ...id,
    vm.instanceUuid ?? '',
    vm.biosUuid ?? '',
    host,
    vm.hostMoid ?? '',
    cluster,
    datacenter,
    vm.guestFullName ?? '',
    vm.guestId ?? '',
    vm.guestHostName ?? '',
    vm.guestIp ?? '',
    vm.template ? 'true' : 'false',
    vm.toolsVersion ?? '',
    ...tags,
  ];
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The vm collector with default options. */
export const vmCollector: Collector = createVmCollector();
