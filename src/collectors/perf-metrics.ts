import { baseUnit, perIntervalUnit } from '../vsphere/units.js';

/** A vCenter realtime counter exported as one metric family. */
export interface PerfMetricDef {
  /** `group.name.rollup` in vCenter's catalogue. */
  counter: string;
  /** vCenter unit the conversion assumes (a catalogue disagreeing is skipped, not guessed). */
  unit: string;
  /** Name after the `vsphere_<kind>_` prefix, ending in the base unit. */
  metric: string;
  help: string;
  /** Summation counters are divided by the sample interval (→ ratio or per-second rate). */
  perInterval?: boolean;
  /** Per-instance family (vNIC, vCPU, …): read with instance "*", this label carries the instance. */
  instanceLabel?: string;
  /** Instances that are the entity's own; others vCenter lists under "*" are dropped (default: all). */
  ownInstances?: RegExp;
}

const RT = '20 s realtime sample';

/** Counters whose meaning and conversion are the same for VMs and hosts. */
const SHARED: Record<string, PerfMetricDef> = Object.fromEntries(
  (
    [
      {
        counter: 'cpu.usagemhz.average',
        unit: 'megaHertz',
        metric: 'cpu_usage_hertz',
        help: `CPU usage in hertz (cpu.usagemhz.average, ${RT}).`,
      },
      {
        counter: 'disk.read.average',
        unit: 'kiloBytesPerSecond',
        metric: 'disk_read_bytes_per_second',
        help: `Disk read rate in bytes per second (disk.read.average, ${RT}).`,
      },
      {
        counter: 'disk.write.average',
        unit: 'kiloBytesPerSecond',
        metric: 'disk_write_bytes_per_second',
        help: `Disk write rate in bytes per second (disk.write.average, ${RT}).`,
      },
      {
        counter: 'net.received.average',
        unit: 'kiloBytesPerSecond',
        metric: 'network_receive_bytes_per_second',
        help: `Network receive rate in bytes per second (net.received.average, ${RT}).`,
      },
      {
        counter: 'net.transmitted.average',
        unit: 'kiloBytesPerSecond',
        metric: 'network_transmit_bytes_per_second',
        help: `Network transmit rate in bytes per second (net.transmitted.average, ${RT}).`,
      },
      {
        counter: 'net.droppedRx.summation',
        unit: 'number',
        metric: 'network_receive_dropped_packets_per_second',
        perInterval: true,
        help: `Received packets dropped per second (net.droppedRx.summation / interval, ${RT}).`,
      },
      {
        counter: 'net.droppedTx.summation',
        unit: 'number',
        metric: 'network_transmit_dropped_packets_per_second',
        perInterval: true,
        help: `Transmitted packets dropped per second (net.droppedTx.summation / interval, ${RT}).`,
      },
    ] satisfies PerfMetricDef[]
  ).map((d) => [d.counter, d]),
);

/** Realtime counters collected for every powered-on VM (aggregate instance). */
export const VM_PERF: readonly PerfMetricDef[] = [
  {
    counter: 'cpu.usage.average',
    unit: 'percent',
    metric: 'cpu_usage_ratio',
    help: `CPU usage as a ratio of the VM's configured CPU capacity (cpu.usage.average, ${RT}).`,
  },
  SHARED['cpu.usagemhz.average']!,
  {
    counter: 'cpu.ready.summation',
    unit: 'millisecond',
    metric: 'cpu_ready_ratio',
    perInterval: true,
    help: `Time the VM was ready to run but not scheduled, as a ratio of the sample interval, summed over vCPUs (cpu.ready.summation / interval, ${RT}).`,
  },
  {
    counter: 'cpu.costop.summation',
    unit: 'millisecond',
    metric: 'cpu_costop_ratio',
    perInterval: true,
    help: `Time the VM was co-stopped, as a ratio of the sample interval, summed over vCPUs (cpu.costop.summation / interval, ${RT}).`,
  },
  {
    counter: 'mem.usage.average',
    unit: 'percent',
    metric: 'memory_usage_ratio',
    help: `Active memory as a ratio of configured memory (mem.usage.average, ${RT}).`,
  },
  {
    counter: 'mem.active.average',
    unit: 'kiloBytes',
    metric: 'memory_active_bytes',
    help: `Active guest memory in bytes (mem.active.average, ${RT}).`,
  },
  {
    counter: 'mem.consumed.average',
    unit: 'kiloBytes',
    metric: 'memory_consumed_bytes',
    help: `Host memory consumed by the VM in bytes (mem.consumed.average, ${RT}).`,
  },
  {
    counter: 'mem.granted.average',
    unit: 'kiloBytes',
    metric: 'memory_granted_bytes',
    help: `Host memory granted to the VM in bytes (mem.granted.average, ${RT}).`,
  },
  {
    counter: 'mem.vmmemctl.average',
    unit: 'kiloBytes',
    metric: 'memory_ballooned_bytes',
    help: `Memory reclaimed by the balloon driver in bytes (mem.vmmemctl.average, ${RT}).`,
  },
  {
    counter: 'mem.swapped.average',
    unit: 'kiloBytes',
    metric: 'memory_swapped_bytes',
    help: `Guest memory swapped out by the host in bytes (mem.swapped.average, ${RT}).`,
  },
  SHARED['disk.read.average']!,
  SHARED['disk.write.average']!,
  {
    counter: 'disk.maxTotalLatency.latest',
    unit: 'millisecond',
    metric: 'disk_max_latency_seconds',
    help: `Highest disk latency over all disks in seconds (disk.maxTotalLatency.latest, ${RT}).`,
  },
  SHARED['net.received.average']!,
  SHARED['net.transmitted.average']!,
  SHARED['net.droppedRx.summation']!,
  SHARED['net.droppedTx.summation']!,
];

/** Realtime counters collected for every connected, powered-on host (aggregate instance). */
export const HOST_PERF: readonly PerfMetricDef[] = [
  {
    counter: 'cpu.usage.average',
    unit: 'percent',
    metric: 'cpu_usage_ratio',
    help: `CPU usage as a ratio of the host's CPU capacity (cpu.usage.average, ${RT}).`,
  },
  SHARED['cpu.usagemhz.average']!,
  {
    counter: 'cpu.ready.summation',
    unit: 'millisecond',
    metric: 'cpu_ready_ratio',
    perInterval: true,
    help: `Ready time of all VMs on the host as a ratio of the sample interval (cpu.ready.summation / interval, ${RT}).`,
  },
  {
    counter: 'cpu.costop.summation',
    unit: 'millisecond',
    metric: 'cpu_costop_ratio',
    perInterval: true,
    help: `Co-stop time of all VMs on the host as a ratio of the sample interval (cpu.costop.summation / interval, ${RT}).`,
  },
  {
    counter: 'mem.usage.average',
    unit: 'percent',
    metric: 'memory_usage_ratio',
    help: `Consumed memory as a ratio of the host's memory (mem.usage.average, ${RT}).`,
  },
  {
    counter: 'mem.active.average',
    unit: 'kiloBytes',
    metric: 'memory_active_bytes',
    help: `Active memory in bytes (mem.active.average, ${RT}).`,
  },
  {
    counter: 'mem.consumed.average',
    unit: 'kiloBytes',
    metric: 'memory_consumed_bytes',
    help: `Consumed memory in bytes (mem.consumed.average, ${RT}).`,
  },
  {
    counter: 'mem.granted.average',
    unit: 'kiloBytes',
    metric: 'memory_granted_bytes',
    help: `Memory granted to VMs in bytes (mem.granted.average, ${RT}).`,
  },
  {
    counter: 'mem.vmmemctl.average',
    unit: 'kiloBytes',
    metric: 'memory_ballooned_bytes',
    help: `Memory reclaimed from VMs by ballooning in bytes (mem.vmmemctl.average, ${RT}).`,
  },
  {
    counter: 'mem.swapused.average',
    unit: 'kiloBytes',
    metric: 'memory_swapped_bytes',
    help: `Memory swapped out by the host in bytes (mem.swapused.average, ${RT}).`,
  },
  SHARED['disk.read.average']!,
  SHARED['disk.write.average']!,
  {
    counter: 'disk.maxTotalLatency.latest',
    unit: 'millisecond',
    metric: 'disk_max_latency_seconds',
    help: `Highest disk latency over all datastores and LUNs in seconds (disk.maxTotalLatency.latest, ${RT}).`,
  },
  SHARED['net.received.average']!,
  SHARED['net.transmitted.average']!,
  SHARED['net.droppedRx.summation']!,
  SHARED['net.droppedTx.summation']!,
];

/** Unit marker of an extra counter: the unit is taken from vCenter's catalogue at collection time. */
export const CATALOGUE_UNIT = '*';

// camelCase counter parts ("droppedRx") become snake_case ("dropped_rx") in metric names.
const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/**
 * Defs for counters added in the config (`vm.extra_counters`): named `<group>_<name>_<rollup>`
 * plus the base unit the catalogue's unit converts to, so any counter can be exported without code.
 * Counters already exported under their own name are left out (one counter, one family).
 */
export function extraCounterDefs(
  counters: readonly string[],
  builtIn: readonly PerfMetricDef[],
): PerfMetricDef[] {
  const have = new Set(builtIn.filter((d) => d.instanceLabel === undefined).map((d) => d.counter));
  return [...new Set(counters)]
    .filter((c) => !have.has(c))
    .map((counter) => ({
      counter,
      unit: CATALOGUE_UNIT,
      metric: counter.split('.').map(snake).join('_'),
      help: `vCenter counter ${counter}, converted to base units (${RT}; added by configuration).`,
      perInterval: counter.endsWith('.summation'),
    }));
}

/**
 * The metric-name suffix of an extra counter in catalogue unit `unit` ("" for plain numbers):
 * summations are divided by the interval, so time becomes a ratio, counts and bytes a per-second
 * rate and energy (joules) a power in watts. Undefined when the exporter cannot convert it.
 */
export function extraCounterSuffix(unit: string, perIntervalRate: boolean): string | undefined {
  return perIntervalRate ? perIntervalUnit(unit) : baseUnit(unit);
}
