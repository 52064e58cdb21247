import { compileFilter, FILTER_KINDS, type FilterKind, type FiltersSpec } from '../collectors/filter.js';
import type { VimClient } from '../vsphere/client.js';
import { fetchInventory } from '../vsphere/inventory.js';
import { inventorySpecs } from '../vsphere/inventory-specs.js';

/** How many objects of one kind vCenter has and how many of them the target's filters keep. */
export interface KindCount {
  kind: FilterKind;
  total: number;
  kept: number;
  /** Whether `filters.<kind>` has any pattern (otherwise kept equals total). */
  filtered: boolean;
  /** One inventory path of this kind, shown when a path filter keeps nothing. */
  examplePath?: string;
}

// The vim25 types each kind's collector lists and filters. vcsim's ContainerView matches exact types
// only, so subtypes (VirtualApp under ResourcePool) are named too; a moid seen twice counts once.
const TYPES_OF_KIND: ReadonlyMap<FilterKind, readonly string[]> = new Map([
  ['cluster', ['ClusterComputeResource']],
  ['datastore', ['Datastore', 'StoragePod']],
  ['resource_pool', ['ResourcePool', 'VirtualApp']],
  ['datacenter', ['Datacenter']],
]);

// Singular and plural, for "keeps none of the 1 datacenter" and "… of the 4 VMs".
const NOUN: Readonly<Record<FilterKind, readonly [string, string]>> = {
  vm: ['VM', 'VMs'],
  host: ['host', 'hosts'],
  cluster: ['cluster', 'clusters'],
  datastore: ['datastore or datastore cluster', 'datastores and datastore clusters'],
  resource_pool: ['resource pool or vApp', 'resource pools and vApps'],
  datacenter: ['datacenter', 'datacenters'],
};

interface Subject {
  name: string;
  path?: string;
}

/**
 * Counts, per filter kind, the objects vCenter has and those `filters` keep, by the rules the
 * collectors apply: names and paths of every kind from one read of the inventory model.
 */
export async function countFiltered(
  client: VimClient,
  filters: FiltersSpec,
  signal: AbortSignal,
): Promise<KindCount[]> {
  // One read of the model, as the exporter reads it: the same tree and path rule for every kind.
  const specs = inventorySpecs(
    [...TYPES_OF_KIND.values()].flat().map((type) => ({ type, pathSet: ['name', 'parent'] })),
  );
  const inv = await fetchInventory(client, specs, signal);
  const subjects = new Map<FilterKind, Subject[]>([
    ['vm', inv.vms.map((o) => ({ name: o.name, path: inv.path(o.moid) }))],
    ['host', inv.hosts.map((o) => ({ name: o.name, path: inv.path(o.moid) }))],
  ]);
  for (const [kind, types] of TYPES_OF_KIND) {
    const seen = new Set<string>();
    const list: Subject[] = [];
    for (const o of types.flatMap((t) => inv.objects(t))) {
      if (seen.has(o.obj.value)) continue;
      seen.add(o.obj.value);
      list.push({ name: inv.tree.get(o.obj.value)?.name ?? o.obj.value, path: inv.path(o.obj.value) });
    }
    subjects.set(kind, list);
  }
  const filter = compileFilter(filters);
  return FILTER_KINDS.map((kind) => {
    const list = subjects.get(kind) ?? [];
    const filtered = filter.filters?.(kind) ?? true;
    const kept = list.filter((s) =>
      filter.allows(kind, s.path === undefined ? { name: s.name } : { name: s.name, path: s.path }),
    ).length;
    const examplePath = list.find((s) => s.path !== undefined)?.path;
    return { kind, total: list.length, kept, filtered, ...(examplePath !== undefined && { examplePath }) };
  });
}

/** A filter's patterns in words, e.g. `include paths "/DC1/vm/prod/**"`. */
function describe(spec: FiltersSpec[FilterKind]): string {
  const parts: string[] = [];
  for (const side of ['include', 'exclude'] as const) {
    for (const what of ['names', 'paths'] as const) {
      const list = spec?.[side]?.[what] ?? [];
      if (list.length > 0) parts.push(`${side} ${what} ${list.map((p) => JSON.stringify(p)).join(', ')}`);
    }
  }
  return parts.join('; ');
}

/**
 * One problem per kind whose filter keeps none of its objects: the exporter would run but export
 * nothing of that kind, which is what a mistyped datacenter or folder in a path looks like.
 */
export function filterProblems(counts: readonly KindCount[], filters: FiltersSpec): string[] {
  return counts
    .filter((c) => c.filtered && c.total > 0 && c.kept === 0)
    .map((c) => {
      const spec = filters[c.kind];
      const usesPaths = (spec?.include?.paths?.length ?? 0) + (spec?.exclude?.paths?.length ?? 0) > 0;
      const hint =
        usesPaths && c.examplePath !== undefined ? `; inventory paths here look like ${c.examplePath}` : '';
      return `filters.${c.kind} keeps none of the ${c.total} ${NOUN[c.kind][c.total === 1 ? 0 : 1]} (${describe(spec)}${hint})`;
    });
}

/** The text report's line: `vm 0 of 4 kept, host 2, …` (a count alone where no filter applies). */
export function countsText(counts: readonly KindCount[]): string {
  return counts.map((c) => `${c.kind} ${c.filtered ? `${c.kept} of ${c.total} kept` : c.total}`).join(', ');
}
