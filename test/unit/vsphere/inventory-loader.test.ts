/** A full inventory read in the background: its own deadline, progress, and scrapes that wait for it. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { InventoryLoad } from '../../../src/vsphere/inventory-loader.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

const isCode = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof VsphereError && e.code === code && re.test(e.message);

/** A read that receives `n` objects, then waits for `release` (or its signal). */
function read(n: number, release: Promise<string>) {
  return async (signal: AbortSignal, load: { received: number }): Promise<string> => {
    load.received += n;
    return await new Promise<string>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      void release.then(resolve);
    });
  };
}

describe('InventoryLoad', () => {
  // The load's deadline timer is unref'd (the exporter's server keeps the process up): keep the loop alive.
  let keep: NodeJS.Timeout | undefined;
  before(() => void (keep = setInterval(() => undefined, 1000)));
  after(() => clearInterval(keep));

  test('a scrape whose deadline comes first gets VSPHERE_INVENTORY_LOADING with the progress; the read goes on', async () => {
    let finish!: (v: string) => void;
    const load = new InventoryLoad(read(12_000, new Promise((r) => (finish = r))), {
      timeoutMs: 60_000,
      kind: 'first read of this session',
      expected: 50_000,
    });
    await assert.rejects(
      load.wait(AbortSignal.timeout(20)),
      isCode(
        'VSPHERE_INVENTORY_LOADING',
        /^inventory loading: 12,000 of 50,000 objects after 0 s \(first read/,
      ),
    );
    // A scrape that arrives with its deadline already passed is answered at once.
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(load.wait(gone.signal), isCode('VSPHERE_INVENTORY_LOADING', /12,000 of 50,000/));
    const next = load.wait(AbortSignal.timeout(5000));
    finish('inventory');
    assert.equal(await next, 'inventory');
    assert.equal(await load.done, 'inventory');
  });

  test('without a known total it says how many objects were read; more than the last total is not "N of M"', async () => {
    const never = new Promise<string>(() => undefined);
    const a = new InventoryLoad(read(1234, never), { timeoutMs: 60_000, kind: 'k' });
    assert.match(a.loadingError().message, /^inventory loading: 1,234 objects read after/);
    const b = new InventoryLoad(read(60, never), { timeoutMs: 60_000, kind: 'k', expected: 50 });
    assert.match(b.loadingError().message, /^inventory loading: 60 objects read/);
    a.abort('test over');
    b.abort('test over');
    await assert.rejects(a.done, isCode('VSPHERE_ABORTED', /test over/));
  });

  test('its own deadline ends it with VSPHERE_TIMEOUT naming the setting and the progress', async () => {
    const load = new InventoryLoad(read(7, new Promise(() => undefined)), {
      timeoutMs: 50,
      kind: 'resync after a dropped watch',
    });
    await assert.rejects(
      load.wait(),
      isCode('VSPHERE_TIMEOUT', /resync after a dropped watch.*inventory_timeout_seconds.*7 objects read/),
    );
  });

  test('abort() stops the read at once (shutdown, a new session)', async () => {
    const load = new InventoryLoad(read(0, new Promise(() => undefined)), { timeoutMs: 60_000, kind: 'k' });
    const waiting = load.wait(AbortSignal.timeout(10_000));
    await sleep(5);
    load.abort('the exporter is shutting down');
    await assert.rejects(waiting, isCode('VSPHERE_ABORTED', /shutting down/));
  });
});
