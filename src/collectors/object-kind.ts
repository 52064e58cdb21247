import type { CollectContext } from './collector.js';
import type { CollectorName } from '../model/names.js';
import type { ObjectContent } from '../vsphere/answer-data.js';
import type { Inventory } from '../vsphere/inventory.js';

// vim25 types whose objects a collector kind's filter governs; other types (folders, networks…) are
// not subject to any filter. Datastore clusters and vApps are listed by the datastore and
// resource_pool collectors, so their filters decide for them too. A Map: the type comes from vCenter.
const KIND_OF_TYPE: ReadonlyMap<string, CollectorName> = new Map([
  ['VirtualMachine', 'vm'],
  ['HostSystem', 'host'],
  ['ClusterComputeResource', 'cluster'],
  ['Datastore', 'datastore'],
  ['StoragePod', 'datastore'],
  ['ResourcePool', 'resource_pool'],
  ['VirtualApp', 'resource_pool'],
  ['Datacenter', 'datacenter'],
]);

/** The collector kind whose filter applies to objects of vim25 `type`, if any. */
export function kindOfType(type: string): CollectorName | undefined {
  return KIND_OF_TYPE.get(type);
}

/** What is known of an object besides its type and moid: its name and inventory path. */
export interface KnownObject {
  name?: string;
  path?: string;
}

/**
 * Whether ctx.filter lets an object of `type`/`moid` through, by the same rule as the object's own
 * series: names match `name` (else the inventory's name, else the moid); paths match the
 * inventory's path for VMs and hosts (as filterInventory does), else `known.path`.
 */
export function allowsObject(
  ctx: CollectContext,
  type: string,
  moid: string,
  known: KnownObject = {},
): boolean {
  const kind = kindOfType(type);
  if (kind === undefined || ctx.filter.filters?.(kind) === false) return true;
  let { name, path } = known;
  if (kind === 'vm' || kind === 'host') path = ctx.inventory.path?.(moid) ?? path;
  if (kind === 'host') name ??= ctx.inventory.hostsByMoid.get(moid)?.name;
  if (kind === 'vm') name ??= vmNames(ctx.wholeInventory ?? ctx.inventory).get(moid);
  return ctx.filter.allows(kind, path === undefined ? { name: name ?? moid } : { name: name ?? moid, path });
}

// moid → name of an inventory's VMs, built once per inventory (tags may name thousands of VMs).
const vmNameMaps = new WeakMap<Inventory, Map<string, string>>();
function vmNames(inv: Inventory): Map<string, string> {
  let m = vmNameMaps.get(inv);
  if (!m) vmNameMaps.set(inv, (m = new Map(inv.vms.map((v) => [v.moid, v.name]))));
  return m;
}

/** An object of the model a collector's filter let through, with the labels that identify it. */
export interface AllowedObject {
  object: ObjectContent;
  moid: string;
  /** Its inventory name, else its moid. */
  name: string;
  path: string | undefined;
  /** `[name, moid]`: the identifying labels every per-object family starts with. */
  id: string[];
}

/**
 * The model's objects of vim25 `type` that the filter of `kind` allows, by name and inventory
 * path: the one rule of every collector that lists objects the model keeps as ObjectContent.
 */
export function* allowedObjects(
  ctx: CollectContext,
  type: string,
  kind: CollectorName,
): Generator<AllowedObject> {
  const tree = ctx.inventory.tree;
  for (const object of ctx.inventory.objects(type)) {
    const moid = object.obj.value;
    const name = tree.get(moid)?.name ?? moid;
    const path = tree.path(moid);
    if (!ctx.filter.allows(kind, path === undefined ? { name } : { name, path })) continue;
    yield { object, moid, name, path, id: [name, moid] };
  }
}
