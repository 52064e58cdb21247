import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { enabledCollectors } from './collectors/registry.js';
import { compileFilter } from './collectors/filter.js';
import { ConfigError, readPassword, VERSION } from './config/load.js';
import { osReason } from './config/errors.js';
import type { Config } from './config/schema.js';
import { Scraper } from './scrape/scraper.js';
import { SoapStats } from './scrape/self-stats.js';
import { HttpServer, send } from './server/http-server.js';
import { landingPage } from './server/landing-page.js';
import { metricsHandler, type CollectionSource } from './server/metrics-handler.js';
import { WebSecurity } from './server/web-security.js';
import { BackgroundCollector } from './scrape/background.js';
import { VimClient } from './vsphere/client.js';
import { fetchInventory } from './vsphere/inventory.js';
import { InventoryWatch } from './vsphere/inventory-watch.js';
import { PerfManager } from './vsphere/perf-manager.js';
import { Session } from './vsphere/session.js';
import { SoapTransport } from './vsphere/soap/transport.js';

/** A wired exporter: start() listens, close() shuts down gracefully (Logout, drain). */
export interface App {
  start(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** Composition root: builds every part from the config; no logic of its own. */
export async function createApp(config: Config, logger: Logger, webConfigFile?: string): Promise<App> {
  // First: a bad web config must stop the start before anything else is built (exit 2).
  const web = webConfigFile === undefined ? undefined : await WebSecurity.start(webConfigFile, logger);
  const v = config.vsphere;
  if (v.insecureSkipVerify)
    logger.warn(
      { url: v.url.origin },
      'TLS certificate verification of vCenter is DISABLED (insecure_skip_verify)',
    );
  const ca = v.caFile ? await readCa(v.caFile) : undefined;
  const soapStats = new SoapStats();
  const transport = new SoapTransport({
    url: v.url,
    maxConnections: v.maxConnections,
    connectTimeoutMs: v.connectTimeoutMs,
    requestTimeoutMs: v.requestTimeoutMs,
    maxResponseBytes: v.maxResponseBytes,
    ca,
    insecureSkipVerify: v.insecureSkipVerify,
    onCall: (method, outcome, seconds) => soapStats.record(method, outcome, seconds),
  });
  const session = new Session(transport, {
    user: v.user,
    password: () => readPassword(v),
    keepaliveIntervalMs: v.keepaliveIntervalMs,
    logger,
  });
  const client = new VimClient(transport, session, logger);
  const inventory =
    v.inventory === 'incremental'
      ? new InventoryWatch(client, logger)
      : { fetch: (signal?: AbortSignal) => fetchInventory(client, signal), close: () => Promise.resolve() };
  const perf = new PerfManager(client, {
    maxQueryMetrics: v.maxQueryMetrics,
    concurrency: v.perfConcurrency,
  });
  const collectors = enabledCollectors(config.collectors, {
    vsphere: v,
    options: config.options,
    ca,
    logger,
  });
  const scraper = new Scraper({
    client,
    inventory,
    perf,
    collectors,
    filter: compileFilter(config.filters),
    soapStats,
    logger,
    version: VERSION,
  });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const server = new HttpServer(logger, web);
  const text = 'text/plain; charset=utf-8';
  const background =
    config.scrape.collection === 'background'
      ? new BackgroundCollector(
          scraper,
          config.scrape.intervalSeconds,
          Math.min(config.scrape.timeoutSeconds, config.scrape.intervalSeconds),
          logger,
        )
      : undefined;
  const source: CollectionSource = background
    ? { get: (_budget, hangup) => background.get(hangup), reportsAge: true }
    : { get: (budget, hangup) => scraper.collect(budget, hangup), reportsAge: false };
  server.get(
    config.web.telemetryPath,
    metricsHandler(source, config.scrape, () => registry.metrics(), config.web.maxRequests),
  );
  server.get('/', (_req, res) =>
    send(res, 200, 'text/html; charset=utf-8', landingPage(VERSION, config.web.telemetryPath)),
  );
  server.get('/-/healthy', (_req, res) => send(res, 200, text, 'OK\n'));
  server.get('/-/ready', (_req, res) =>
    session.stats.logins > 0
      ? send(res, 200, text, 'Ready\n')
      : send(res, 503, text, 'Not ready: no vCenter login yet\n'),
  );

  let closing: Promise<void> | undefined;
  return {
    async start() {
      const address = await server.listen(config.web.listenAddress);
      logger.info(
        {
          address: `${address.address}:${address.port}`,
          telemetryPath: config.web.telemetryPath,
          version: VERSION,
        },
        'listening',
      );
      // Log in at start so /-/ready turns green without waiting for the first scrape.
      if (background) background.start();
      else session.ensure(AbortSignal.timeout(config.scrape.timeoutSeconds * 1000)).catch(() => undefined);
      return address;
    },
    close() {
      closing ??= (async () => {
        // Abort first: a scrape in flight then answers at once and Logout is not starved of time.
        background?.stop();
        scraper.abort('exporter shutting down');
        await server.close(1000);
        web?.close();
        await scraper.idle();
        await inventory.close(800);
        // Collectors' own sessions (tag: REST) end before the SOAP Logout, each bounded by its own timeout.
        await Promise.all(collectors.map((c) => c.close?.().catch(() => undefined) ?? Promise.resolve()));
        await session.close(1500);
        await transport.close();
      })();
      return closing;
    },
  };
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`vsphere.ca_file (or VSPHERE_CA_FILE): cannot read ${file}: ${osReason(e)}`);
  }
}
