// The `filters` config section's shape and pattern syntax, shared by config/ (validation) and
// collectors/filter.ts (matching); kept free of imports.

/** Kinds that have objects of their own to filter (alarms and tags follow their objects' kinds). */
export const FILTER_KINDS = ['vm', 'host', 'cluster', 'datastore', 'resource_pool', 'datacenter'] as const;
/** A kind `filters.<kind>` accepts. */
export type FilterKind = (typeof FILTER_KINDS)[number];

/** Patterns of one include or exclude list: name regexes (fully anchored) and inventory path globs. */
export interface PatternSpec {
  names?: readonly string[];
  paths?: readonly string[];
}

/** The `filters` config section: per kind, what to include (default: everything) and exclude. */
export type FiltersSpec = Partial<Record<FilterKind, { include?: PatternSpec; exclude?: PatternSpec }>>;

/** Compiles a name pattern: anchored at both ends, like Prometheus relabelling regexes. */
export function nameRegExp(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}

/**
 * Compiles an inventory path glob: `*` and `?` stay within one path segment, `**` spans segments.
 * vCenter allows `/` in names only as `%2f`, so segments are unambiguous.
 */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'u');
}
