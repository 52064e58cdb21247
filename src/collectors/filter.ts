import type { CollectorName } from '../model/names.js';
import {
  FILTER_KINDS,
  globRegExp,
  nameRegExp,
  type FiltersSpec,
  type PatternSpec,
} from '../model/filters.js';
import type { FilterSubject, ObjectFilter } from './collector.js';
import type { Inventory } from '../vsphere/inventory.js';

interface Compiled {
  names: RegExp[];
  paths: RegExp[];
}

function compile(spec: PatternSpec | undefined): Compiled | undefined {
  if (!spec) return undefined;
  const c = { names: (spec.names ?? []).map(nameRegExp), paths: (spec.paths ?? []).map(globRegExp) };
  return c.names.length + c.paths.length === 0 ? undefined : c;
}

function matches(c: Compiled, s: FilterSubject): boolean {
  if (c.names.some((r) => r.test(s.name))) return true;
  const path = s.path;
  return path !== undefined && c.paths.some((r) => r.test(path));
}

/** An ObjectFilter from the config: kept when no include list or one of its patterns matches, and no exclude pattern does. */
export function compileFilter(spec: FiltersSpec | undefined): ObjectFilter {
  const kinds = new Map<CollectorName, { include?: Compiled; exclude?: Compiled }>();
  for (const kind of FILTER_KINDS) {
    const k = spec?.[kind];
    const include = compile(k?.include);
    const exclude = compile(k?.exclude);
    if (include || exclude) kinds.set(kind, { include, exclude });
  }
  if (kinds.size === 0) return { allows: () => true, filters: () => false };
  return {
    filters: (kind) => kinds.has(kind),
    allows(kind, subject) {
      const k = kinds.get(kind);
      if (!k) return true;
      if (k.include && !matches(k.include, subject)) return false;
      return !(k.exclude && matches(k.exclude, subject));
    },
  };
}

/**
 * The inventory with only the VMs and hosts `filter` allows, so no collector queries the others;
 * hostsByMoid stays whole because an included VM still names its (maybe excluded) host.
 */
export function filterInventory(inv: Inventory, filter: ObjectFilter): Inventory {
  // Every collection passes here: without rules for a kind, no object's inventory path is built.
  const keep = <T extends { moid: string; name: string }>(kind: 'vm' | 'host', list: T[]): T[] =>
    filter.filters?.(kind) === false
      ? list
      : list.filter((o) => filter.allows(kind, { name: o.name, path: inv.path?.(o.moid) }));
  const vms = keep('vm', inv.vms);
  const hosts = keep('host', inv.hosts);
  if (vms.length === inv.vms.length && hosts.length === inv.hosts.length) return inv;
  return { ...inv, vms, hosts };
}
