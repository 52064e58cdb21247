import { bool } from '../vsphere/values.js';
import type { CollectContext, Collector } from './collector.js';
import { family, gauge } from './collector.js';
import { addCounts, bump, type StateCounts } from './state-counts.js';
import { allowedObjects } from './object-kind.js';

const ID = ['datacenter', 'datacenter_moid'] as const;
const CONNECTION_STATES = ['connected', 'disconnected', 'notResponding'] as const;
const POWER_STATES = ['poweredOn', 'poweredOff', 'suspended'] as const;
const ACCESSIBLE = ['true', 'false'] as const;

const INFO = gauge(
  'vsphere_datacenter_info',
  'Descriptive labels of a datacenter, path being its inventory path; value is always 1.',
  [...ID, 'path'],
);
const CLUSTERS = gauge(
  'vsphere_datacenter_clusters',
  'Clusters (ClusterComputeResource) in the datacenter, in any host folder.',
  ID,
);
const HOSTS = gauge(
  'vsphere_datacenter_hosts_by_connection_state',
  'Hosts of the datacenter (clustered and standalone) per connection state (summary.runtime.connectionState); counts hosts that filters leave out too.',
  [...ID, 'state'],
);
const VMS = gauge(
  'vsphere_datacenter_vms_by_power_state',
  "VMs (templates excluded) per power state (summary.runtime.powerState), placed by their host's datacenter; counts VMs that filters leave out too.",
  [...ID, 'state'],
);
const DATASTORES = gauge(
  'vsphere_datacenter_datastores_by_accessibility',
  'Datastores of the datacenter by whether they are accessible (Datastore summary.accessible).',
  [...ID, 'accessible'],
);

// Clusters, datastores and hosts are placed by walking up through folders to their datacenter.
const PROPERTIES: NonNullable<Collector['properties']> = [
  { type: 'Datacenter', pathSet: ['name', 'parent'] },
  { type: 'Folder', pathSet: ['name', 'parent'] },
  { type: 'ClusterComputeResource', pathSet: ['name', 'parent'] },
  { type: 'ComputeResource', pathSet: ['name', 'parent'] },
  { type: 'Datastore', pathSet: ['name', 'parent', 'summary.accessible'] },
  { type: 'HostSystem', pathSet: ['parent', 'summary.runtime.connectionState'] },
  {
    type: 'VirtualMachine',
    pathSet: ['summary.runtime.host', 'summary.runtime.powerState', 'summary.config.template'],
  },
];

/** Datacenters: how many clusters, hosts, VMs and datastores each holds, by state. */
export const datacenterCollector: Collector = {
  name: 'datacenter',
  properties: PROPERTIES,
  families: [INFO, CLUSTERS, HOSTS, VMS, DATASTORES],
  collect(ctx: CollectContext, emit): Promise<void> {
    const tree = ctx.inventory.tree;
    const clusters = new Map<string, number>();
    for (const o of ctx.inventory.objects('ClusterComputeResource')) {
      const dc = tree.datacenterOf(o.obj.value);
      if (dc) clusters.set(dc.moid, (clusters.get(dc.moid) ?? 0) + 1);
    }
    const datastores: StateCounts = new Map();
    for (const o of ctx.inventory.objects('Datastore')) {
      const dc = tree.datacenterOf(o.obj.value);
      const accessible = bool(o.props.get('summary.accessible'));
      if (dc && accessible !== undefined) bump(datastores, dc.moid, String(accessible));
    }
    // Counts describe the whole datacenter (like its cluster and datastore counts): filters pick
    // which hosts and VMs get series of their own, not what a datacenter holds.
    const whole = ctx.wholeInventory ?? ctx.inventory;
    // Hosts hang off compute resources: one walk per compute resource, not per host or VM.
    const dcOfCompute = new Map<string, string | undefined>();
    const dcOfHost = new Map<string, string>();
    const hosts: StateCounts = new Map();
    for (const h of whole.hosts) {
      if (h.parentMoid === undefined) continue;
      if (!dcOfCompute.has(h.parentMoid))
        dcOfCompute.set(h.parentMoid, tree.datacenterOf(h.parentMoid)?.moid);
      const dc = dcOfCompute.get(h.parentMoid);
      if (dc === undefined) continue;
      dcOfHost.set(h.moid, dc);
      if (h.connectionState !== undefined) bump(hosts, dc, h.connectionState);
    }
    const vms: StateCounts = new Map();
    for (const vm of whole.vms) {
      const dc = vm.hostMoid === undefined ? undefined : dcOfHost.get(vm.hostMoid);
      if (vm.template || dc === undefined || vm.powerState === undefined) continue;
      bump(vms, dc, vm.powerState);
    }

    const [info, clusterFam, hostFam, vmFam, dsFam] = [INFO, CLUSTERS, HOSTS, VMS, DATASTORES].map(family);
    for (const { moid, path, id } of allowedObjects(ctx, 'Datacenter', 'datacenter')) {
      info!.add([...id, path ?? ''], 1);
      clusterFam!.add(id, clusters.get(moid) ?? 0);
      addCounts(hostFam!, id, CONNECTION_STATES, hosts.get(moid));
      addCounts(vmFam!, id, POWER_STATES, vms.get(moid));
      addCounts(dsFam!, id, ACCESSIBLE, datastores.get(moid));
    }
    for (const f of [info, clusterFam, hostFam, vmFam, dsFam]) emit(f!);
    return Promise.resolve();
  },
};
