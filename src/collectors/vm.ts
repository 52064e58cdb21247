import type { CollectContext, Collector } from './collector.js';
import { family, gauge } from './collector.js';
import { addStateSet, collectPerfFamilies, perfFamilyDefs } from './perf-families.js';
import { VM_PERF } from './perf-metrics.js';

const ID = ['vm', 'vm_moid'] as const;
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

/** Virtual machines: identity, configuration, power state and realtime performance. */
export const vmCollector: Collector = {
  name: 'vm',
  families: [INFO, POWER, BOOT, CPUS, MEMORY, ...perfFamilyDefs('vsphere_vm', ID, VM_PERF)],
  async collect(ctx: CollectContext, emit): Promise<void> {
    const { inventory } = ctx;
    const info = family(INFO);
    const power = family(POWER);
    const boot = family(BOOT);
    const cpus = family(CPUS);
    const memory = family(MEMORY);
    const targets = [];
    for (const vm of inventory.vms) {
      const id = [vm.name, vm.moid];
      const host = vm.hostMoid === undefined ? undefined : inventory.hostsByMoid.get(vm.hostMoid);
      const place = inventory.placement(vm.hostMoid);
      info.add(
        [
          ...id,
          vm.instanceUuid ?? '',
          vm.biosUuid ?? '',
          host?.name ?? '',
          vm.hostMoid ?? '',
          place.cluster,
          place.datacenter,
          vm.guestFullName ?? '',
          vm.guestId ?? '',
          vm.guestHostName ?? '',
          vm.guestIp ?? '',
          vm.template ? 'true' : 'false',
        ],
        1,
      );
      addStateSet(power, id, POWER_STATES, vm.powerState);
      if (vm.bootTime !== undefined && vm.powerState === 'poweredOn') boot.add(id, vm.bootTime);
      if (vm.numCpu !== undefined) cpus.add(id, vm.numCpu);
      if (vm.memoryBytes !== undefined) memory.add(id, vm.memoryBytes);
      // Realtime statistics exist only for running VMs; templates never run.
      if (vm.powerState === 'poweredOn' && !vm.template)
        targets.push({ entity: { type: 'VirtualMachine', value: vm.moid }, labels: id });
    }
    for (const f of [info, power, boot, cpus, memory]) emit(f);
    const perf = await collectPerfFamilies(ctx.perf, 'vsphere_vm', ID, VM_PERF, targets, ctx.signal);
    for (const f of perf) emit(f);
  },
};
