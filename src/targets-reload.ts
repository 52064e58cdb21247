import { createHash } from 'node:crypto';
import type { Config, TargetConfig } from './config/schema.js';
import { Secret } from './config/secret.js';
import type { Target } from './target.js';

/** What a reload does to the running targets. */
export type Reconciled =
  | {
      ok: true;
      targets: Map<string, Target>;
      kept: string[];
      added: string[];
      /** Targets to close once the new map is in use (removed, or replaced by a changed one). */
      removed: Target[];
      /** Global settings that changed but only apply after a restart. */
      restartNeeded: string[];
    }
  | { ok: false; error: string };

// A target is unchanged when everything it is built from is: its own section plus the global
// scrape and collector options. Secrets are compared by digest, never kept or printed.
function fingerprint(t: TargetConfig, c: Config): string {
  return JSON.stringify({ t, scrape: c.scrape, options: c.options }, (_k, v: unknown) => {
    if (v instanceof Secret) return `sha256:${createHash('sha256').update(v.reveal()).digest('hex')}`;
    if (v instanceof URL) return v.href;
    return v;
  });
}

/**
 * Builds the next target map: unchanged targets are kept (sessions and inventory intact), new or
 * changed ones are created. If creating any fails, the new ones are closed and nothing changes.
 */
export async function reconcileTargets(
  prev: Config,
  next: Config,
  running: ReadonlyMap<string, Target>,
  create: (t: TargetConfig) => Promise<Target>,
): Promise<Reconciled> {
  const before = new Map(prev.targets.map((t) => [t.name, fingerprint(t, prev)]));
  const targets = new Map<string, Target>();
  const kept: string[] = [];
  const added: string[] = [];
  const created: Target[] = [];
  try {
    for (const t of next.targets) {
      const old = running.get(t.name);
      if (old && before.get(t.name) === fingerprint(t, next)) {
        targets.set(t.name, old);
        kept.push(t.name);
      } else {
        const made = await create(t);
        created.push(made);
        targets.set(t.name, made);
        added.push(t.name);
      }
    }
  } catch (e) {
    await Promise.all(created.map((t) => t.close()));
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  const removed = [...running.values()].filter((t) => targets.get(t.name) !== t);
  const restartNeeded = (['web', 'log'] as const).filter(
    (k) => JSON.stringify(prev[k]) !== JSON.stringify(next[k]),
  );
  return { ok: true, targets, kept, added, removed, restartNeeded };
}
