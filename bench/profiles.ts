/**
 * What vcsim simulates for one benchmark run: the inventory model for a VM count, and the latency
 * profile (a delay on every SOAP call, optionally with jitter), applied by vcsim itself so that
 * the exporter and the floor pay exactly the same per-call cost.
 */

/** Per-call latency simulated by vcsim. */
export interface LatencyProfile {
  /** Delay added to every SOAP call, in ms (vcsim `-delay`). */
  ms: number;
  /**
   * Coefficient of variation of the delay (stddev / mean; vcsim `-delay-jitter`): each call waits
   * `ms × (1 + jitter × N(0,1))`, cut at 0. 0 when `ms` is 0 (there is nothing to vary).
   */
  jitter: number;
}

/** vcsim arguments for `size` VMs: the fixed models for 1,000/5,000/10,000, else ~1,000 VMs per cluster, 50 per host. */
export function vcsimArgsFor(size: number): string[] {
  const fixed = new Map<number, [number, number, number]>([
    [1000, [2, 10, 500]],
    [5000, [5, 20, 1000]],
    [10000, [10, 20, 1000]],
  ]);
  let model = fixed.get(size);
  if (!model) {
    const clusters = Math.max(1, Math.ceil(size / 1000));
    if (!Number.isInteger(size / clusters))
      throw new Error(`size ${size}: not divisible into ${clusters} clusters`);
    const vms = size / clusters;
    model = [clusters, Math.max(1, Math.round(vms / 50)), vms];
  }
  const [cluster, host, vm] = model;
  return ['-cluster', String(cluster), '-host', String(host), '-vm', String(vm), '-standalone-host', '0'];
}

/**
 * vcsim arguments for a latency profile. `-delay` is vcsim's delay on every SOAP method (Login,
 * RetrieveServiceContent and WaitForUpdatesEx included); its `-method-delay` has no wildcard (the
 * method name is looked up as is), so a delay on every call is `-delay`, not `-method-delay '*:…'`.
 * vcsim sleeps before taking its object lock, so concurrent calls wait concurrently, as on a real
 * network. The vAPI REST endpoint (tags) is not delayed.
 */
export function latencyArgs(p: LatencyProfile): string[] {
  if (p.ms <= 0) return [];
  return ['-delay', String(p.ms), ...(p.jitter > 0 ? ['-delay-jitter', String(p.jitter)] : [])];
}

/** The profile as printed: `0`, `100` or `100±50%`. */
export function latencyLabel(p: LatencyProfile): string {
  return p.ms > 0 && p.jitter > 0 ? `${p.ms}±${Math.round(p.jitter * 100)}%` : String(p.ms);
}
