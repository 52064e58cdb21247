import type { MetricFamily } from '../exposition/index.js';

/** Counts per group and state: group moid → state → number of objects. */
export type StateCounts = Map<string, Map<string, number>>;

/** Increments counts[group][state]. */
export function bump(counts: StateCounts, group: string, state: string): void {
  let m = counts.get(group);
  if (!m) counts.set(group, (m = new Map<string, number>()));
  m.set(state, (m.get(state) ?? 0) + 1);
}

/** Adds one series per state with its count: 0 for a listed state no object is in. */
export function addCounts(
  fam: MetricFamily,
  id: readonly string[],
  states: readonly string[],
  counts: Map<string, number> | undefined,
): void {
  for (const s of states) fam.add([...id, s], counts?.get(s) ?? 0);
  // A state vCenter added after this list was written is still counted rather than lost.
  for (const [s, n] of counts ?? []) if (!states.includes(s)) fam.add([...id, s], n);
}
