/** What vcsim holds for the VM/host extras, read through the raw SOAP client (independent of the exporter). */
import { allTags, xmlUnescape, type RawVimClient } from './vim-soap.js';

/** Raw property reads of vcsim, independent of the exporter's client. */
export interface Truth {
  vms: { moid: string; name: string; props: Record<string, string> }[];
  hosts: { moid: string; name: string; props: Record<string, string> }[];
}

/** Reads snapshot, guest and host properties of every VM and host. */
export async function readTruth(raw: RawVimClient): Promise<Truth> {
  const vms = await raw.retrieveAll('VirtualMachine', [
    'name',
    'snapshot',
    'guest.toolsRunningStatus',
    'guest.toolsVersionStatus2',
    'guest.toolsVersion',
    'guest.disk',
    'summary.runtime.powerState',
  ]);
  const hosts = await raw.retrieveAll('HostSystem', [
    'name',
    'summary.quickStats.uptime',
    'summary.quickStats.overallMemoryUsage',
    'runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo',
  ]);
  const named = (o: { moid: string; props: Record<string, string> }) => ({
    moid: o.moid,
    name: xmlUnescape(o.props.name ?? ''),
    props: o.props,
  });
  return { vms: vms.map(named), hosts: hosts.map(named) };
}

/** Snapshot count and createTimes of a raw `snapshot` value (every tree node has a <snapshot> moref). */
export function snapshotTruth(val: string | undefined): { count: number; times: number[] } {
  if (!val) return { count: 0, times: [] };
  return {
    count: (val.match(/<snapshot[\s>]/g) ?? []).length,
    times: allTags(val, 'createTime').map((t) => Date.parse(xmlUnescape(t)) / 1000),
  };
}
