/**
 * BENCH_SPLIT_CORES: vcsim on CPU 0, the exporter and the bench (its proxy, floor and govmomi client)
 * on CPU 1. At 0 ms a real vCenter's CPU is not the exporter's, but on this 2-core machine vcsim's
 * ~1.6 cores during a scrape take turns with the exporter's parse and encoding; split, each side
 * keeps its own core and the floor is measured under the same split.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** Pins every thread of `pid` (`taskset -a`) to CPU `cpu`; threads started later inherit it. */
export function pinTo(pid: number, cpu: number | string): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** Refuses a split on a machine with fewer than 2 CPUs. */
export function checkSplit(): void {
  if (availableParallelism() < 2) throw new Error('BENCH_SPLIT_CORES=1 needs at least 2 CPUs');
}

/** Gives this process (and what it starts later) every CPU again. */
export function unpinSelf(): void {
  pinTo(process.pid, `0-${availableParallelism() - 1}`);
}
