import { propSetsXml, viewObjectSet, type PropertySpec } from './property-collector.js';
import { HOST_PATHS, VM_PATHS } from './inventory-records.js';
import type { ServiceContent } from './service-content.js';
import { moRefEl, type MoRef } from './soap/envelope.js';

/** What the inventory reads: the base of every placement and path, whatever the collectors. */
export const BASE_SPECS: readonly PropertySpec[] = [
  { type: 'VirtualMachine', pathSet: VM_PATHS },
  { type: 'HostSystem', pathSet: HOST_PATHS },
  // Parents are walked host → compute resource/cluster → folders → datacenter.
  { type: 'ClusterComputeResource', pathSet: ['name', 'parent'] },
  { type: 'ComputeResource', pathSet: ['name', 'parent'] },
  { type: 'Datacenter', pathSet: ['name', 'parent'] },
  { type: 'Folder', pathSet: ['name', 'parent'] },
  // A VM inside a vApp has no parent: its path goes through the vApp's folder (or parent vApp).
  { type: 'VirtualApp', pathSet: ['name', 'parent', 'parentFolder', 'parentVApp'] },
];

// ServiceContent singletons a collector may read, by type: they are not in the inventory tree,
// so they are selected by an ObjectSpec of their own in the same filter. A Map: never a plain
// object keyed by a type name.
const SINGLETONS: ReadonlyMap<string, (c: ServiceContent) => MoRef | undefined> = new Map([
  ['CustomFieldsManager', (c: ServiceContent) => c.customFieldsManager],
  ['LicenseManager', (c: ServiceContent) => c.licenseManager],
]);

// The abstract type whose paths apply to every entity. vcsim's ContainerView lists exact types
// only, so it is never put in the view: its paths are added to each concrete type of the union.
const MANAGED_ENTITY = 'ManagedEntity';

/** The one filter of a target's inventory: what it reads, which types its view lists, which singletons it selects. */
export interface InventorySpecs {
  /** One propSet per type (path sets united), singletons included. */
  readonly propSets: readonly PropertySpec[];
  /** The concrete types the ContainerView over the root folder lists. */
  readonly viewTypes: readonly string[];
  /** ServiceContent singleton types selected by an ObjectSpec of their own (e.g. CustomFieldsManager). */
  readonly singletonTypes: readonly string[];
}

/** Whether `type` is a ServiceContent singleton the inventory can read. */
export function isSingletonType(type: string): boolean {
  return SINGLETONS.has(type);
}

/**
 * The union of BASE_SPECS and the collectors' `properties` (pure): one propSet per type with
 * the path sets united; a ManagedEntity spec adds its paths to every concrete entity type.
 */
export function inventorySpecs(collectorSpecs: readonly PropertySpec[] = []): InventorySpecs {
  const paths = new Map<string, Set<string>>();
  const add = (type: string, pathSet: Iterable<string>): void => {
    let set = paths.get(type);
    if (!set) paths.set(type, (set = new Set()));
    for (const p of pathSet) set.add(p);
  };
  const everyEntity = new Set<string>();
  for (const s of [...BASE_SPECS, ...collectorSpecs]) {
    if (s.type === MANAGED_ENTITY) for (const p of s.pathSet) everyEntity.add(p);
    else add(s.type, s.pathSet);
  }
  const viewTypes = [...paths.keys()].filter((t) => !SINGLETONS.has(t));
  for (const t of viewTypes) add(t, everyEntity);
  return {
    propSets: [...paths].map(([type, set]) => ({ type, pathSet: [...set] })),
    viewTypes,
    singletonTypes: [...paths.keys()].filter((t) => SINGLETONS.has(t)),
  };
}

/** The singletons of `specs` this endpoint has (ESXi or an old vCenter may lack some). */
export function singletonRefs(specs: InventorySpecs, content: ServiceContent): MoRef[] {
  const out: MoRef[] = [];
  for (const t of specs.singletonTypes) {
    const ref = SINGLETONS.get(t)?.(content);
    if (ref) out.push(ref);
  }
  return out;
}

/**
 * A PropertyFilterSpec's content: every propSet, every object of `view` (the view itself skipped),
 * and each singleton by an ObjectSpec of its own.
 */
export function inventoryFilterSpec(
  view: MoRef,
  specs: InventorySpecs,
  singletons: readonly MoRef[],
): string {
  const singletonSets = singletons.map(
    (r) => `<objectSet>${moRefEl('obj', r)}<skip>false</skip></objectSet>`,
  );
  return propSetsXml(specs.propSets) + viewObjectSet(view) + singletonSets.join('');
}
