import type { MetricFamily } from '../exposition/index.js';
import type { XmlNode } from '../vsphere/answer-data.js';
import { num } from '../vsphere/values.js';
import { gauge } from './collector.js';

const ID = ['vm', 'vm_moid'] as const;

/** guest.toolsRunningStatus values (VirtualMachineToolsRunningStatus). */
export const TOOLS_RUNNING_STATES = [
  'guestToolsRunning',
  'guestToolsNotRunning',
  'guestToolsExecutingScripts',
] as const;
/** guest.toolsVersionStatus2 values (VirtualMachineToolsVersionStatus). */
export const TOOLS_VERSION_STATES = [
  'guestToolsNotInstalled',
  'guestToolsNeedUpgrade',
  'guestToolsCurrent',
  'guestToolsUnmanaged',
  'guestToolsTooOld',
  'guestToolsSupportedOld',
  'guestToolsSupportedNew',
  'guestToolsTooNew',
  'guestToolsBlacklisted',
] as const;

/** `vsphere_vm_guest_tools_running`. */
export const TOOLS_RUNNING = gauge(
  'vsphere_vm_guest_tools_running',
  'VMware Tools running state: 1 for the current state (guest.toolsRunningStatus).',
  [...ID, 'state'],
);
/** `vsphere_vm_guest_tools_version_status`. */
export const TOOLS_VERSION_STATUS = gauge(
  'vsphere_vm_guest_tools_version_status',
  'VMware Tools version status: 1 for the current state (guest.toolsVersionStatus2).',
  [...ID, 'state'],
);
/** `vsphere_vm_guest_filesystem_capacity_bytes`. */
export const FS_CAPACITY = gauge(
  'vsphere_vm_guest_filesystem_capacity_bytes',
  'Capacity of a guest filesystem in bytes, as reported by VMware Tools (guest.disk[].capacity).',
  [...ID, 'mount'],
);
/** `vsphere_vm_guest_filesystem_free_bytes`. */
export const FS_FREE = gauge(
  'vsphere_vm_guest_filesystem_free_bytes',
  'Free space of a guest filesystem in bytes, as reported by VMware Tools (guest.disk[].freeSpace).',
  [...ID, 'mount'],
);

/** One guest filesystem (GuestDiskInfo). */
export interface GuestFilesystem {
  mount: string;
  capacity?: number;
  free?: number;
}

/** Decodes ArrayOfGuestDiskInfo (`guest.disk`); entries without a diskPath or repeated are skipped. */
export function guestFilesystems(disks: XmlNode | undefined): GuestFilesystem[] {
  const out: GuestFilesystem[] = [];
  if (!disks) return out;
  const seen = new Set<string>();
  for (const d of disks.children) {
    let mount: string | undefined;
    let capacity: number | undefined;
    let free: number | undefined;
    for (const c of d.children) {
      if (c.name === 'diskPath') mount = c.text;
      else if (c.name === 'capacity') capacity = num(c);
      else if (c.name === 'freeSpace') free = num(c);
    }
    // Tools can list one mount twice (bind mounts); two series with the same labels are invalid.
    if (mount === undefined || mount === '' || seen.has(mount)) continue;
    seen.add(mount);
    out.push({ mount, capacity, free });
  }
  return out;
}

/** Adds one VM's guest filesystem series. */
export function addFilesystemSeries(
  id: readonly string[],
  disks: XmlNode | undefined,
  capacity: MetricFamily,
  free: MetricFamily,
): void {
  for (const fs of guestFilesystems(disks)) {
    if (fs.capacity !== undefined) capacity.add([...id, fs.mount], fs.capacity);
    if (fs.free !== undefined) free.add([...id, fs.mount], fs.free);
  }
}
