/** A collector context built in-process against a simulator, for collector options the CLI does not expose yet. */
import { ALLOW_ALL, type CollectContext } from '../../src/collectors/collector.js';
import { Secret } from '../../src/config/secret.js';
import { silentLogger } from '../../src/log/logger.js';
import { VimClient } from '../../src/vsphere/client.js';
import { fetchInventory } from '../../src/vsphere/inventory.js';
import { inventorySpecs } from '../../src/vsphere/inventory-specs.js';
import { AlarmNames } from '../../src/vsphere/alarm-names.js';
import { allCollectorProperties } from '../../src/collectors/registry.js';
import { PerfManager } from '../../src/vsphere/perf-manager.js';
import { Session } from '../../src/vsphere/session.js';
import { SoapTransport } from '../../src/vsphere/soap/transport.js';
import type { Vcsim } from './vcsim.js';

/** A logged-in client, perf manager and full inventory read of `vc` (every collector's properties); `close` logs out. */
export async function inProcessContext(
  vc: Vcsim,
  timeoutMs = 30_000,
): Promise<{ ctx: CollectContext; close: () => Promise<void> }> {
  const logger = silentLogger();
  const transport = new SoapTransport({
    url: new URL(vc.url),
    maxConnections: 4,
    connectTimeoutMs: 5000,
    requestTimeoutMs: 20_000,
    maxResponseBytes: 64 * 1024 * 1024,
    insecureSkipVerify: false,
  });
  const session = new Session(transport, {
    user: vc.user,
    password: { read: () => Promise.resolve(new Secret(vc.password)) },
    keepaliveIntervalMs: 0,
    logger,
  });
  const client = new VimClient(transport, session, logger);
  const close = (): Promise<void> => session.close();
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    const ctx: CollectContext = {
      perf: new PerfManager(client, { concurrency: 2 }),
      inventory: await fetchInventory(
        client,
        inventorySpecs(allCollectorProperties()),
        signal,
        new AlarmNames(client, logger),
      ),
      filter: ALLOW_ALL,
      signal,
      logger,
    };
    return { ctx, close };
  } catch (e) {
    await close();
    throw e;
  }
}
