import type { PerfMetricDef } from './perf-metrics.js';

const RT = '20 s realtime sample';
// Not `instance`: Prometheus attaches that target label itself and would rename ours to exported_instance.
// node_exporter's names instead: `device` for NICs and disks, `cpu` for CPUs.
const DEVICE = 'device';
const CPU = 'cpu';
// A VM's own vNICs are named by their device key (VirtualDevice.key, an xsd:int such as 4000).
// vCenter 9.0.1 also lists the host's uplinks (vmnic0…) under a VM's net.* "*": kept, they would
// pose as vNICs and count the host's traffic once per VM.
const VNIC_KEY = /^[0-9]{1,10}$/;

/** Per-instance VM counters (option instanceMetrics): per vNIC (device key), virtual disk (e.g. scsi0:0) and vCPU. */
export const VM_INSTANCE_PERF: readonly PerfMetricDef[] = [
  {
    counter: 'net.received.average',
    unit: 'kiloBytesPerSecond',
    metric: 'network_interface_receive_bytes_per_second',
    instanceLabel: DEVICE,
    ownInstances: VNIC_KEY,
    help: `Receive rate of one virtual NIC (device = the vNIC's device key, e.g. 4000) in bytes per second (net.received.average, ${RT}).`,
  },
  {
    counter: 'net.transmitted.average',
    unit: 'kiloBytesPerSecond',
    metric: 'network_interface_transmit_bytes_per_second',
    instanceLabel: DEVICE,
    ownInstances: VNIC_KEY,
    help: `Transmit rate of one virtual NIC (device = the vNIC's device key, e.g. 4000) in bytes per second (net.transmitted.average, ${RT}).`,
  },
  {
    counter: 'virtualDisk.read.average',
    unit: 'kiloBytesPerSecond',
    metric: 'virtual_disk_read_bytes_per_second',
    instanceLabel: DEVICE,
    help: `Read rate of one virtual disk (device e.g. scsi0:0) in bytes per second (virtualDisk.read.average, ${RT}).`,
  },
  {
    counter: 'virtualDisk.write.average',
    unit: 'kiloBytesPerSecond',
    metric: 'virtual_disk_write_bytes_per_second',
    instanceLabel: DEVICE,
    help: `Write rate of one virtual disk (device e.g. scsi0:0) in bytes per second (virtualDisk.write.average, ${RT}).`,
  },
  {
    counter: 'virtualDisk.totalReadLatency.average',
    unit: 'millisecond',
    metric: 'virtual_disk_read_latency_seconds',
    instanceLabel: DEVICE,
    help: `Average read latency of one virtual disk in seconds (virtualDisk.totalReadLatency.average, ${RT}).`,
  },
  {
    counter: 'virtualDisk.totalWriteLatency.average',
    unit: 'millisecond',
    metric: 'virtual_disk_write_latency_seconds',
    instanceLabel: DEVICE,
    help: `Average write latency of one virtual disk in seconds (virtualDisk.totalWriteLatency.average, ${RT}).`,
  },
  {
    counter: 'cpu.usagemhz.average',
    unit: 'megaHertz',
    metric: 'vcpu_usage_hertz',
    instanceLabel: CPU,
    help: `CPU usage of one vCPU (cpu = vCPU index) in hertz (cpu.usagemhz.average, ${RT}).`,
  },
  {
    counter: 'cpu.ready.summation',
    unit: 'millisecond',
    metric: 'vcpu_ready_ratio',
    perInterval: true,
    instanceLabel: CPU,
    help: `Ready time of one vCPU (cpu = vCPU index) as a ratio of the sample interval (cpu.ready.summation / interval, ${RT}).`,
  },
];

/** Per-instance host counters (on by default; hosts are few): per physical NIC and per datastore. */
export const HOST_INSTANCE_PERF: readonly PerfMetricDef[] = [
  {
    counter: 'net.received.average',
    unit: 'kiloBytesPerSecond',
    metric: 'network_interface_receive_bytes_per_second',
    instanceLabel: DEVICE,
    help: `Receive rate of one physical NIC (device = vmnicN) in bytes per second (net.received.average, ${RT}).`,
  },
  {
    counter: 'net.transmitted.average',
    unit: 'kiloBytesPerSecond',
    metric: 'network_interface_transmit_bytes_per_second',
    instanceLabel: DEVICE,
    help: `Transmit rate of one physical NIC (device = vmnicN) in bytes per second (net.transmitted.average, ${RT}).`,
  },
  {
    counter: 'datastore.totalReadLatency.average',
    unit: 'millisecond',
    metric: 'datastore_read_latency_seconds',
    instanceLabel: 'datastore_uuid',
    help: `Average read latency to one datastore (datastore_uuid = the datastore UUID vCenter names the instance by) in seconds (datastore.totalReadLatency.average, ${RT}).`,
  },
  {
    counter: 'datastore.totalWriteLatency.average',
    unit: 'millisecond',
    metric: 'datastore_write_latency_seconds',
    instanceLabel: 'datastore_uuid',
    help: `Average write latency to one datastore (datastore_uuid = the datastore UUID vCenter names the instance by) in seconds (datastore.totalWriteLatency.average, ${RT}).`,
  },
];
