/** Entities vCenter no longer knows (ManagedObjectNotFound in QueryPerf): which to leave out of a batch. */
import type { PerfQuery } from './perf-manager.js';

/** What to do about a ManagedObjectNotFound of one batch: the entity to leave out (when known) and what to send again. */
export interface NotFoundPlan {
  drop?: PerfQuery['entity'];
  resend: PerfQuery[][];
}

const sameEntity = (a: PerfQuery['entity'], b: { type: string; value: string }): boolean =>
  a.value === b.value && a.type === b.type;
/** An entity's key in a run's Set of lost entities and in its logs ("VirtualMachine:vm-42"), never a plain object's key. */
export const entityKey = (e: PerfQuery['entity']): string => `${e.type}:${e.value}`;

/**
 * The plan after a ManagedObjectNotFound of `batch`: without the entity the fault names; when it
 * names none, the batch's two halves, or a lone entity dropped. Undefined when it names an object
 * that is not one of the batch's entities (the PerformanceManager itself, say): no smaller request
 * helps then. Each step drops an entity or halves a batch, so a run ends whatever vCenter answers.
 */
export function afterNotFound(
  batch: readonly PerfQuery[],
  missing: { type: string; value: string } | undefined,
): NotFoundPlan | undefined {
  const first = batch[0]?.entity;
  const drop = missing
    ? batch.find((q) => sameEntity(q.entity, missing))?.entity
    : first && batch.every((q) => sameEntity(q.entity, first))
      ? first
      : undefined;
  if (drop) {
    const rest = batch.filter((q) => !sameEntity(q.entity, drop));
    return { drop, resend: rest.length ? [rest] : [] };
  }
  if (missing) return undefined;
  const mid = Math.ceil(batch.length / 2);
  return { resend: [batch.slice(0, mid), batch.slice(mid)] };
}
