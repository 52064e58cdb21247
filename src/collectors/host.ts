import type { MetricFamily } from '../exposition/index.js';
import type { PerfSample } from '../vsphere/perf-manager.js';
import type { CollectContext, Collector } from './collector.js';
import { family, gauge } from './collector.js';
import { addStateSet, perfFamiliesInFlight, perfFamilyDefs } from './perf-families.js';
import { extraCounterDefs, HOST_PERF } from './perf-metrics.js';
import { HOST_INSTANCE_PERF } from './perf-instance-metrics.js';
import {
  addSensorSeries,
  SENSOR_FAN,
  SENSOR_HEALTH,
  SENSOR_POWER,
  SENSOR_TEMPERATURE,
} from './host-sensors.js';
import { addHealthSeries, HEALTH_FAMILIES } from './host-health.js';

const ID = ['host', 'host_moid'] as const;
const CONNECTION_STATES = ['connected', 'disconnected', 'notResponding'] as const;
const POWER_STATES = ['poweredOn', 'poweredOff', 'standBy', 'unknown'] as const;
const INFO_LABELS = [
  ...ID,
  'uuid',
  'cluster',
  'datacenter',
  'esxi_version',
  'esxi_build',
  'cpu_model',
  'vendor',
  'model',
] as const;

const g = (name: string, help: string, extra: readonly string[] = []) =>
  gauge(`vsphere_host_${name}`, help, [...ID, ...extra]);
const INFO = gauge(
  'vsphere_host_info',
  'Descriptive labels of an ESXi host; value is always 1.',
  INFO_LABELS,
);
const CONNECTION = g(
  'connection_state',
  'Connection state of the host to vCenter: 1 for the current state (summary.runtime.connectionState).',
  ['state'],
);
const POWER = g(
  'power_state',
  'Power state of the host: 1 for the current state (summary.runtime.powerState).',
  ['state'],
);
const MAINTENANCE = g(
  'maintenance_mode',
  '1 when the host is in maintenance mode (summary.runtime.inMaintenanceMode).',
);
const BOOT = g('boot_timestamp_seconds', 'Unix time the host booted (summary.runtime.bootTime).');
const CORES = g('cpu_cores', 'Physical CPU cores (summary.hardware.numCpuCores).');
const THREADS = g('cpu_threads', 'Logical CPU threads (summary.hardware.numCpuThreads).');
const CPU_CAPACITY = g(
  'cpu_capacity_hertz',
  'CPU capacity in hertz: cores × core frequency (summary.hardware.numCpuCores × cpuMhz).',
);
const MEM_CAPACITY = g('memory_capacity_bytes', 'Physical memory in bytes (summary.hardware.memorySize).');
const UPTIME = g('uptime_seconds', 'Seconds since the host booted (summary.quickStats.uptime).');
const NTP_RUNNING = g(
  'ntp_running',
  "1 when the host's NTP daemon runs (config.service.service, key ntpd, running).",
);
const NTP_SERVERS = g(
  'ntp_servers',
  'NTP servers configured on the host (config.dateTimeInfo.ntpConfig.server); 0 means the clock is not synchronised by NTP.',
);
// cpu_usage_hertz already comes from cpu.usagemhz.average; memory has no counter of that name.
const MEM_USAGE = g(
  'memory_usage_bytes',
  'Physical memory in use in bytes (summary.quickStats.overallMemoryUsage).',
);
const SENSORS = [SENSOR_TEMPERATURE, SENSOR_FAN, SENSOR_POWER, SENSOR_HEALTH];
const PERF = [...HOST_PERF, ...HOST_INSTANCE_PERF];
const STATIC = [INFO, CONNECTION, POWER, MAINTENANCE, BOOT, CORES, THREADS, CPU_CAPACITY, MEM_CAPACITY];

/** Options of the host collector. */
export interface HostCollectorOptions {
  /** More realtime counters (`group.name.rollup`), exported under generated names. */
  extraCounters?: readonly string[];
  /** Promoted tag/attribute label names appended to vsphere_host_info (`info_labels`). */
  infoLabels?: readonly string[];
}

/** ESXi hosts: identity, hardware capacity, connection/maintenance state and realtime performance. */
export function createHostCollector(options: HostCollectorOptions = {}): Collector {
  const perfDefs = [...PERF, ...extraCounterDefs(options.extraCounters ?? [], PERF)];
  const promoted = options.infoLabels ?? [];
  const infoDef = promoted.length > 0 ? gauge(INFO.name, INFO.help, [...INFO.labels, ...promoted]) : INFO;
  const staticDefs = [infoDef, ...STATIC.slice(1)];
  return {
    name: 'host',
    feedsHostPerf: true,
    families: [
      ...staticDefs,
      UPTIME,
      NTP_RUNNING,
      NTP_SERVERS,
      MEM_USAGE,
      ...SENSORS,
      ...HEALTH_FAMILIES,
      ...perfFamilyDefs('vsphere_host', ID, PERF),
    ],
    async collect(ctx: CollectContext, emit): Promise<void> {
      // Whatever happens here, a collector waiting for the shared host samples is released.
      try {
        await collectHosts(ctx, emit);
        ctx.hostPerf?.finish();
      } catch (e) {
        ctx.hostPerf?.finish(e);
        throw e;
      }
    },
  };

  async function collectHosts(ctx: CollectContext, emit: (f: MetricFamily) => void): Promise<void> {
    const labelsOf = promoted.length > 0 ? await ctx.infoLabels : undefined;
    const blank = promoted.map(() => '');
    const [info, connection, power, maintenance, boot, cores, threads, cpuCapacity, memCapacity] =
      staticDefs.map(family) as [
        MetricFamily,
        MetricFamily,
        MetricFamily,
        MetricFamily,
        MetricFamily,
        MetricFamily,
        MetricFamily,
        MetricFamily,
        MetricFamily,
      ];
    const uptime = family(UPTIME);
    const ntpRunning = family(NTP_RUNNING);
    const ntpServers = family(NTP_SERVERS);
    const memUsage = family(MEM_USAGE);
    const [temperature, fan, sensorPower, health] = SENSORS.map(family) as [
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
    ];
    const [hwStatus, linkUp, linkSpeed, duplex] = HEALTH_FAMILIES.map(family) as [
      MetricFamily,
      MetricFamily,
      MetricFamily,
      MetricFamily,
    ];
    // A disconnected or powered-off host has no realtime statistics to give.
    const targets = ctx.inventory.hosts
      .filter((h) => h.connectionState === 'connected' && h.powerState === 'poweredOn')
      .map((h) => ({ entity: { type: 'HostSystem', value: h.moid }, labels: [h.name, h.moid] }));
    const share = ctx.hostPerf;
    const shared = share && { counters: share.counters, onSample: (s: PerfSample) => share.add(s) };
    const perf = await perfFamiliesInFlight(
      ctx.perf,
      'vsphere_host',
      ID,
      perfDefs,
      targets,
      ctx.signal,
      shared,
    );
    for (const h of ctx.inventory.hosts) {
      const id = [h.name, h.moid];
      const place = ctx.inventory.placement(h.moid);
      info.add(
        [
          ...id,
          h.uuid ?? '',
          place.cluster,
          place.datacenter,
          h.version ?? '',
          h.build ?? '',
          h.cpuModel ?? '',
          h.vendor ?? '',
          h.model ?? '',
          ...(labelsOf?.(h.moid) ?? blank),
        ],
        1,
      );
      addStateSet(connection, id, CONNECTION_STATES, h.connectionState);
      addStateSet(power, id, POWER_STATES, h.powerState);
      if (h.inMaintenanceMode !== undefined) maintenance.add(id, h.inMaintenanceMode ? 1 : 0);
      if (h.bootTime !== undefined) boot.add(id, h.bootTime);
      if (h.cpuCores !== undefined) cores.add(id, h.cpuCores);
      if (h.cpuThreads !== undefined) threads.add(id, h.cpuThreads);
      if (h.cpuCores !== undefined && h.cpuMhz !== undefined)
        cpuCapacity.add(id, h.cpuCores * h.cpuMhz * 1e6);
      if (h.memoryBytes !== undefined) memCapacity.add(id, h.memoryBytes);
      if (h.uptimeSeconds !== undefined) uptime.add(id, h.uptimeSeconds);
      if (h.ntpRunning !== undefined) ntpRunning.add(id, h.ntpRunning ? 1 : 0);
      if (h.ntpServers !== undefined) ntpServers.add(id, h.ntpServers);
      if (h.memoryUsageBytes !== undefined) memUsage.add(id, h.memoryUsageBytes);
      addSensorSeries(id, h.sensors, { temperature, fan, power: sensorPower, health });
      addHealthSeries(id, h.hardwareStatus, h.pnics, { status: hwStatus, linkUp, speed: linkSpeed, duplex });
    }
    for (const f of [info, connection, power, maintenance, boot, cores, threads, cpuCapacity, memCapacity])
      emit(f);
    for (const f of [uptime, ntpRunning, ntpServers, memUsage, temperature, fan, sensorPower, health])
      emit(f);
    for (const f of [hwStatus, linkUp, linkSpeed, duplex]) emit(f);
    for (const f of await perf.families) emit(f);
  }
}

/** The host collector with default options. */
export const hostCollector: Collector = createHostCollector();
