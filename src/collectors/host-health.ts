import type { MetricFamily } from '../exposition/index.js';
import { HARDWARE_STATES, type HardwareElement, type PhysicalNicLink } from '../vsphere/host-health-info.js';
import { gauge } from './collector.js';
import { addStateSet } from './perf-families.js';

const ID = ['host', 'host_moid'] as const;
const HW = 'runtime.healthSystemRuntime.hardwareStatusInfo';

/** `vsphere_host_hardware_status`. */
export const HARDWARE_STATUS = gauge(
  'vsphere_host_hardware_status',
  `Status of each memory, CPU and storage element the host's CIM providers report: 1 for the current state ` +
    `(${HW}.memoryStatusInfo/cpuStatusInfo/storageStatusInfo[].status.key; at most 32 elements per component).`,
  [...ID, 'component', 'name', 'state'],
);
/** `vsphere_host_pnic_link_up`. */
export const PNIC_LINK_UP = gauge(
  'vsphere_host_pnic_link_up',
  '1 when the physical NIC has a link, 0 when it is down (config.network.pnic[].linkSpeed, absent when down).',
  [...ID, 'nic'],
);
/** `vsphere_host_pnic_speed_bytes_per_second`. */
export const PNIC_SPEED = gauge(
  'vsphere_host_pnic_speed_bytes_per_second',
  'Negotiated link speed of the physical NIC in bytes per second (config.network.pnic[].linkSpeed.speedMb, ' +
    'megabits per second in vim25); no series while the link is down.',
  [...ID, 'nic'],
);
/** `vsphere_host_pnic_full_duplex`. */
export const PNIC_DUPLEX = gauge(
  'vsphere_host_pnic_full_duplex',
  '1 when the physical NIC link is full duplex, 0 half duplex (config.network.pnic[].linkSpeed.duplex); no series while the link is down.',
  [...ID, 'nic'],
);
/** The host health families, in the order addHealthSeries fills them. */
export const HEALTH_FAMILIES = [HARDWARE_STATUS, PNIC_LINK_UP, PNIC_SPEED, PNIC_DUPLEX];

/** Adds one host's hardware-status and physical-NIC series; absent lists add nothing. */
export function addHealthSeries(
  id: readonly string[],
  hardware: readonly HardwareElement[] | undefined,
  pnics: readonly PhysicalNicLink[] | undefined,
  families: { status: MetricFamily; linkUp: MetricFamily; speed: MetricFamily; duplex: MetricFamily },
): void {
  for (const el of hardware ?? [])
    addStateSet(families.status, [...id, el.component, el.name], HARDWARE_STATES, el.status);
  for (const nic of pnics ?? []) {
    const labels = [...id, nic.device];
    families.linkUp.add(labels, nic.speedMb === undefined ? 0 : 1);
    if (nic.speedMb === undefined) continue;
    // speedMb counts megabits (10^6 bits), as Ethernet rates do.
    families.speed.add(labels, (nic.speedMb * 1e6) / 8);
    if (nic.duplex !== undefined) families.duplex.add(labels, nic.duplex ? 1 : 0);
  }
}
