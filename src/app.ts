import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { VERSION } from './config/load.js';
import type { Config } from './config/schema.js';
import { HttpServer, send } from './server/http-server.js';
import { STATUS_PAGE_CSP, statusPage } from './server/status-page.js';
import { metricsHandler } from './server/metrics-handler.js';
import { probeHandler } from './server/probe-handler.js';
import { WebSecurity } from './server/web-security.js';
import { createTarget, type Target } from './target.js';

/** A wired exporter: start() listens, close() shuts down gracefully (Logout, drain). */
export interface App {
  start(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** Composition root: builds every part from the config; no logic of its own. */
export async function createApp(config: Config, logger: Logger, webConfigFile?: string): Promise<App> {
  // First: a bad web config must stop the start before anything else is built (exit 2).
  const web = webConfigFile === undefined ? undefined : await WebSecurity.start(webConfigFile, logger);
  const targets = new Map<string, Target>();
  for (const t of config.targets) targets.set(t.name, await createTarget(t, config, logger));
  const fallback = targets.get(config.defaultTarget ?? '');

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const selfMetrics = () => registry.metrics();

  const server = new HttpServer(logger, web);
  const text = 'text/plain; charset=utf-8';
  // /metrics: the default target plus the exporter's own metrics; /probe: one named target only.
  server.get(
    config.web.telemetryPath,
    fallback
      ? metricsHandler(fallback.source, config.scrape, selfMetrics, config.web.maxRequests)
      : async (_req, res) => send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', await selfMetrics()),
  );
  // Each target has its own concurrency budget, so a burst of probes for one cannot starve another.
  const probes = new Map(
    [...targets].map(([name, t]) => [
      name,
      metricsHandler(t.source, config.scrape, () => Promise.resolve(''), config.web.maxRequests),
    ]),
  );
  server.get('/probe', probeHandler(probes));
  server.get('/', (_req, res) =>
    send(
      res,
      200,
      'text/html; charset=utf-8',
      statusPage({
        version: VERSION,
        uptimeSeconds: process.uptime(),
        telemetryPath: config.web.telemetryPath,
        defaultTarget: config.defaultTarget,
        targets: [...targets.values()].map((t) => t.status()),
        now: Date.now(),
      }),
      { 'Content-Security-Policy': STATUS_PAGE_CSP, 'Cache-Control': 'no-store' },
    ),
  );
  server.get('/-/healthy', (_req, res) => send(res, 200, text, 'OK\n'));
  // Ready once any target has logged in: one vCenter being down must not take the others' scrapes
  // out of a Kubernetes Service.
  server.get('/-/ready', (_req, res) =>
    [...targets.values()].some((t) => t.loggedIn())
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
          targets: [...targets.keys()].join(','),
          version: VERSION,
        },
        'listening',
      );
      for (const t of targets.values()) t.start();
      return address;
    },
    close() {
      closing ??= (async () => {
        for (const t of targets.values()) t.abort();
        await server.close(1000);
        web?.close();
        await Promise.all([...targets.values()].map((t) => t.close()));
      })();
      return closing;
    },
  };
}
