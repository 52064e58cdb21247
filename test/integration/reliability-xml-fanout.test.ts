/**
 * XML fan-out under the byte cap: an answer of millions of empty elements, or one element with
 * millions of attributes, stays under the 32 MiB cap yet once cost ~600 MiB and blocked the event
 * loop for seconds. Bounded in elements and attributes per answer, parsed in slices: the scrape
 * answers within its deadline with a clear code, memory stays bounded (even under a 384 MiB
 * heap) and /-/healthy answers throughout. vcsim behind the fault proxy, default byte cap.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { find, type Sample } from '../harness/prom-text.js';
import { timedScrape } from '../harness/env.js';
import type { FaultRule } from '../harness/fault-proxy.js';
import { procAlive } from '../harness/procs.js';
import { startHostileRig, type HostileRig } from '../harness/hostile-rig.js';
import { resetPeakRss, statusBytes } from '../../bench/proc-stats.js';

const MiB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
// Peak RSS growth allowed over one hostile scrape. The parser holds at most ~35 MiB of nodes at the
// default cap; the rest is margin for V8's heap sizing and GC timing on a busy machine. Unbounded,
// the 31 MiB answer of empty elements grew RSS by ~600 MiB.
const MAX_PEAK_GROWTH = 200 * MiB;
// /-/healthy is answered from the event loop; unbounded, one 2.4M-attribute element blocked it 8.6 s.
const MAX_HEALTHY_MS = 3000;

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  find(samples, name, labels)[0]?.value;

/** Polls /-/healthy every 50 ms until stopped; the slowest answer and how many there were. */
function pollHealthy(baseUrl: string): {
  stop(): Promise<{ maxMs: number; count: number; failures: number }>;
} {
  let running = true;
  let maxMs = 0;
  let count = 0;
  let failures = 0;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${baseUrl}/-/healthy`, { signal: AbortSignal.timeout(20_000) });
        await res.text();
        if (res.status !== 200) failures++;
      } catch {
        failures++;
      }
      maxMs = Math.max(maxMs, performance.now() - t0);
      count++;
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { maxMs, count, failures };
    },
  };
}

describe('reliability: XML fan-out under the byte cap (default 32 MiB cap, incremental inventory, 384 MiB heap)', () => {
  let rig: HostileRig;

  before(async () => {
    rig = await startHostileRig({ env: { NODE_OPTIONS: '--max-old-space-size=384' } });
    // RSS grows over the first scrapes (JIT, heap sizing) before it levels off.
    for (let i = 0; i < 10; i++)
      assert.equal(value((await timedScrape(rig.exporter)).samples, 'vsphere_up'), 1);
  });
  after(async () => {
    await rig?.close();
  });

  /** One scrape with `rule` on every WaitForUpdatesEx; checks deadline, code, memory and /-/healthy. */
  async function floodedScrape(
    t: TestContext,
    rule: FaultRule,
    code: string,
    message: RegExp,
  ): Promise<void> {
    const { proxy, exporter, vc } = rig;
    const pid = exporter.pid;
    const reset = resetPeakRss(pid);
    const before = statusBytes(pid, reset ? 'VmRSS' : 'VmHWM');
    proxy.resetCounts();
    proxy.addRule(rule);
    const healthy = pollHealthy(exporter.baseUrl);
    let res: Awaited<ReturnType<typeof timedScrape>>;
    try {
      res = await timedScrape(exporter);
    } finally {
      proxy.clearRules();
    }
    const health = await healthy.stop();
    const peak = statusBytes(pid, 'VmHWM');
    assert.ok(procAlive(pid), 'exporter still running');
    assert.equal(res.status, 200);
    const error = find(res.samples, 'vsphere_last_error_info')[0]?.labels;
    assert.equal(value(res.samples, 'vsphere_up'), 0);
    assert.equal(error?.code, code, JSON.stringify(error));
    assert.match(error?.message ?? '', message);
    assert.ok((proxy.counts().WaitForUpdatesEx ?? 0) >= 1, 'the flooded answer was asked for');
    // The default deadline is 10 s; answered with the parser's code, not at the deadline.
    const seconds = value(res.samples, 'vsphere_scrape_duration_seconds') ?? Infinity;
    assert.ok(seconds < 9, `collection took ${seconds} s`);
    assert.ok(health.failures === 0 && health.count >= 1, JSON.stringify(health));
    assert.ok(health.maxMs < MAX_HEALTHY_MS, `/-/healthy took up to ${health.maxMs.toFixed(0)} ms`);
    assert.ok(
      peak - before < MAX_PEAK_GROWTH,
      `peak RSS ${mib(peak)}, ${mib(peak - before)} over ${mib(before)}`,
    );
    const good = await timedScrape(exporter);
    assert.equal(value(good.samples, 'vsphere_up'), 1);
    assert.equal(find(good.samples, 'vsphere_vm_info').length, vc.inventory.vms.length);
    t.diagnostic(
      `scrape ${res.ms.toFixed(0)} ms (collection ${seconds.toFixed(2)} s), ${error?.code}: ${error?.message}; ` +
        `peak RSS +${mib(peak - before)} over ${mib(before)}${reset ? '' : ' (VmHWM not resettable)'}; ` +
        `/-/healthy ${health.count}× up to ${health.maxMs.toFixed(0)} ms; next scrape good`,
    );
  }

  test('a 31 MiB WaitForUpdatesEx of empty elements: vsphere_up 0 (VSPHERE_RESPONSE_TOO_LARGE) within the deadline, memory bounded, /-/healthy answers', async (t) => {
    await floodedScrape(
      t,
      { method: 'WaitForUpdatesEx', fault: 'element-flood', bytes: 31 * MiB },
      'VSPHERE_RESPONSE_TOO_LARGE',
      /elements/,
    );
  });

  test('one element with 2,400,000 attributes: vsphere_up 0 (VSPHERE_BAD_RESPONSE) within the deadline, /-/healthy answers', async (t) => {
    await floodedScrape(
      t,
      { method: 'WaitForUpdatesEx', fault: 'attribute-flood', count: 2_400_000 },
      'VSPHERE_BAD_RESPONSE',
      /attributes/,
    );
  });
});
