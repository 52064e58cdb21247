import type { PropertySpec } from '../vsphere/answer-data.js';

/**
 * Every concrete vim25 ManagedEntity type. vCenter's ContainerView includes subtypes of a listed
 * type but vcsim's matches exact types only, so "every managed entity" is asked for type by type.
 */
export const MANAGED_ENTITY_TYPES = [
  'Folder',
  'Datacenter',
  'ComputeResource',
  'ClusterComputeResource',
  'HostSystem',
  'VirtualMachine',
  'ResourcePool',
  'VirtualApp',
  'Datastore',
  'StoragePod',
  'Network',
  'DistributedVirtualPortgroup',
  'OpaqueNetwork',
  'DistributedVirtualSwitch',
  'VmwareDistributedVirtualSwitch',
] as const;

/** The same `pathSet` (plus name and parent, for names and paths) for each of `types`. */
export function specsFor(types: readonly string[], pathSet: readonly string[]): PropertySpec[] {
  return types.map((type) => ({ type, pathSet: ['name', 'parent', ...pathSet] }));
}
