/**
 * Arithmetic on the SOAP calls the counting proxy saw: calls per method, how long each method's
 * calls took (request in → last answer byte out, so vcsim's delay included) and how many calls
 * were in flight at once — the concurrency the floor is replayed at.
 */
import type { ProxyRecord } from './counting-proxy.js';

/** Duration of one method's calls, in ms. */
export interface CallTimes {
  count: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

/** Median of `xs` (mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Answered calls only: a call whose answer never started has no duration. */
function answered(recs: readonly ProxyRecord[]): ProxyRecord[] {
  return recs.filter((r) => r.endedAt > 0);
}

/** Call counts by method, methods sorted by name. */
export function callsByMethod(recs: readonly ProxyRecord[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const r of recs) counts.set(r.method, (counts.get(r.method) ?? 0) + 1);
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

/** Call durations by method, methods sorted by name. */
export function callTimesByMethod(recs: readonly ProxyRecord[]): Record<string, CallTimes> {
  const byMethod = new Map<string, number[]>();
  for (const r of answered(recs)) {
    const list = byMethod.get(r.method) ?? [];
    list.push(r.endedAt - r.startedAt);
    byMethod.set(r.method, list);
  }
  return Object.fromEntries(
    [...byMethod]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([m, ms]) => [
        m,
        { count: ms.length, medianMs: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms) },
      ]),
  );
}

/** Most calls (of `method`, or of any method) in flight at the same instant. */
export function peakInFlight(recs: readonly ProxyRecord[], method?: string): number {
  const events: [number, number][] = [];
  for (const r of answered(recs)) {
    if (method !== undefined && r.method !== method) continue;
    events.push([r.startedAt, 1], [r.endedAt, -1]);
  }
  // At equal times an end is counted before a start: a call sent as the previous one ends is not "at once".
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of events) peak = Math.max(peak, (now += d));
  return peak;
}
