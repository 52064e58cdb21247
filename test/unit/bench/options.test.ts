import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableParallelism } from 'node:os';
import { optionsFromEnv } from '../../../bench/run.js';
import { latencyArgs, latencyLabel } from '../../../bench/profiles.js';

void describe('benchmark latency options', () => {
  it('defaults to 0 ms without jitter, the floor packing 256 objects per call', () => {
    const o = optionsFromEnv({});
    assert.deepEqual(o.latenciesMs, [0]);
    assert.equal(o.jitter, 0);
    assert.deepEqual(o.batching, { objectsPerCall: 256, maxQueryMetrics: 256 });
    assert.equal(o.floorConcurrency, undefined);
  });

  it('reads a list of latencies, a jitter, the floor batch size and concurrency', () => {
    const o = optionsFromEnv({
      BENCH_LATENCY_MS: '0, 100',
      BENCH_JITTER: '0.5',
      BENCH_FLOOR_OBJECTS: '128',
      BENCH_FLOOR_CONCURRENCY: '4',
      BENCH_EXPORTER_CONFIG: 'vsphere: {max_query_metrics: 64}',
    });
    assert.deepEqual(o.latenciesMs, [0, 100]);
    assert.equal(o.jitter, 0.5);
    assert.deepEqual(o.batching, { objectsPerCall: 128, maxQueryMetrics: 64 });
    assert.equal(o.floorConcurrency, 4);
  });

  it('splits the cores only when asked (BENCH_SPLIT_CORES=1), and refuses anything but 0 or 1', () => {
    assert.equal(optionsFromEnv({}).splitCores, false);
    assert.equal(optionsFromEnv({ BENCH_SPLIT_CORES: '0' }).splitCores, false);
    // A split needs 2 CPUs; with one it is refused at once, not half-way through a run.
    if (availableParallelism() >= 2)
      assert.equal(optionsFromEnv({ BENCH_SPLIT_CORES: '1' }).splitCores, true);
    else assert.throws(() => optionsFromEnv({ BENCH_SPLIT_CORES: '1' }), /at least 2 CPUs/);
    assert.throws(() => optionsFromEnv({ BENCH_SPLIT_CORES: 'yes' }), /BENCH_SPLIT_CORES must be 0 or 1/);
  });

  it('refuses a negative or fractional latency and a jitter out of 0..2', () => {
    assert.throws(() => optionsFromEnv({ BENCH_LATENCY_MS: '-1' }), /BENCH_LATENCY_MS/);
    assert.throws(() => optionsFromEnv({ BENCH_LATENCY_MS: '2.5' }), /BENCH_LATENCY_MS/);
    assert.throws(() => optionsFromEnv({ BENCH_LATENCY_MS: ',' }), /BENCH_LATENCY_MS is empty/);
    assert.throws(() => optionsFromEnv({ BENCH_JITTER: '3' }), /BENCH_JITTER/);
    assert.throws(() => optionsFromEnv({ BENCH_JITTER: 'x' }), /BENCH_JITTER/);
  });

  it('turns a profile into vcsim arguments: -delay on every call, -delay-jitter only with a delay', () => {
    assert.deepEqual(latencyArgs({ ms: 0, jitter: 0 }), []);
    assert.deepEqual(latencyArgs({ ms: 0, jitter: 0.5 }), []);
    assert.deepEqual(latencyArgs({ ms: 100, jitter: 0 }), ['-delay', '100']);
    assert.deepEqual(latencyArgs({ ms: 100, jitter: 0.5 }), ['-delay', '100', '-delay-jitter', '0.5']);
    assert.equal(latencyLabel({ ms: 100, jitter: 0.5 }), '100±50%');
    assert.equal(latencyLabel({ ms: 100, jitter: 0 }), '100');
  });
});
