import type { CollectContext } from './collector.js';
import type { CollectorName } from './names.js';

// vim25 types whose objects a collector kind's filter governs; other types (folders, networks…) are
// not subject to any filter.
const KIND_OF_TYPE: Readonly<Record<string, CollectorName>> = {
  VirtualMachine: 'vm',
  HostSystem: 'host',
  ClusterComputeResource: 'cluster',
  Datastore: 'datastore',
  ResourcePool: 'resource_pool',
  Datacenter: 'datacenter',
};

/** The collector kind whose filter applies to objects of vim25 `type`, if any. */
export function kindOfType(type: string): CollectorName | undefined {
  return Object.hasOwn(KIND_OF_TYPE, type) ? KIND_OF_TYPE[type] : undefined;
}

/**
 * Whether ctx.filter lets an object of `type`/`moid` through. Filters match names: `name` when
 * known, else the inventory's name for VMs and hosts, else the moid itself.
 */
export function allowsObject(ctx: CollectContext, type: string, moid: string, name?: string): boolean {
  const kind = kindOfType(type);
  if (kind === undefined) return true;
  let subject = name;
  if (subject === undefined && kind === 'vm') subject = ctx.inventory.vms.find((v) => v.moid === moid)?.name;
  if (subject === undefined && kind === 'host') subject = ctx.inventory.hostsByMoid.get(moid)?.name;
  return ctx.filter.allows(kind, { name: subject ?? moid });
}
