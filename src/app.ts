import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { VERSION } from './config/load.js';
import type { Config } from './config/schema.js';
import { HttpServer, send, type Handler } from './server/http-server.js';
import { STATUS_PAGE_CSP, statusPage } from './server/status-page.js';
import { metricsHandler, type InFlight } from './server/metrics-handler.js';
import { probeHandler } from './server/probe-handler.js';
import { WebSecurity } from './server/web-security.js';
import { createTarget, type Target } from './target.js';
import { reconcileTargets } from './targets-reload.js';
import { msLeft, until } from './vsphere/waits.js';

// Shutdown budget when the caller names no deadline.
const CLOSE_MS = 4000;
// What in-flight answers get to finish (their collections are aborted at once, so they are quick).
const SERVER_GRACE_MS = 1000;

/** A wired exporter: start() listens, reload() re-reads the config, close() shuts down gracefully. */
export interface App {
  start(): Promise<AddressInfo>;
  /** Re-reads the config: unchanged targets keep their sessions, removed ones log out. False if rejected. */
  reload(): Promise<boolean>;
  /** Shuts down, every step bounded by `deadline` (ms since the epoch). */
  close(deadline?: number): Promise<void>;
}

/** How the app re-reads its config, and whether POST /-/reload may trigger that. */
export interface AppOptions {
  webConfigFile?: string;
  reloadConfig?: () => Promise<Config>;
  enableLifecycle?: boolean;
}

/** Composition root: builds every part from the config; no logic of its own. */
export async function createApp(config: Config, logger: Logger, opts: AppOptions = {}): Promise<App> {
  // First: a bad web config must stop the start before anything else is built (exit 2).
  const web =
    opts.webConfigFile === undefined ? undefined : await WebSecurity.start(opts.webConfigFile, logger);
  let current = config;
  let targets = new Map<string, Target>();
  for (const t of config.targets) targets.set(t.name, await createTarget(t, config, logger));

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const reloadOk = new Gauge({
    name: 'vsphere_exporter_config_last_reload_successful',
    help: 'Whether the last configuration reload (SIGHUP or POST /-/reload) succeeded.',
    registers: [registry],
  });
  const reloadTime = new Gauge({
    name: 'vsphere_exporter_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last successful configuration load.',
    registers: [registry],
  });
  reloadOk.set(1);
  reloadTime.set(Date.now() / 1000);
  const selfMetrics = () => registry.metrics();

  // Handlers are rebuilt from the target map at every reload; routes look them up at request time.
  let metrics: Handler = () => undefined;
  let probes = new Map<string, Handler>();
  // Scrapes in flight per route, kept across reloads: answers still being written count against the new handlers.
  const metricsInFlight = { count: 0 };
  let probesInFlight = new Map<string, InFlight>();
  const wire = (): void => {
    const fallback = targets.get(current.defaultTarget ?? '');
    metrics = fallback
      ? metricsHandler(fallback.source, current.scrape, selfMetrics, current.web.maxRequests, metricsInFlight)
      : async (_req, res) => send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', await selfMetrics());
    // Each target has its own concurrency budget, so a burst of probes for one cannot starve another.
    probesInFlight = new Map(
      [...targets.keys()].map((name) => [name, probesInFlight.get(name) ?? { count: 0 }]),
    );
    probes = new Map(
      [...targets].map(([name, t]) => [
        name,
        metricsHandler(
          t.source,
          current.scrape,
          () => Promise.resolve(''),
          current.web.maxRequests,
          probesInFlight.get(name),
        ),
      ]),
    );
  };
  wire();

  const server = new HttpServer(logger, web);
  const text = 'text/plain; charset=utf-8';
  // /metrics: the default target plus the exporter's own metrics; /probe: one named target only.
  server.get(config.web.telemetryPath, (req, res) => metrics(req, res));
  server.get('/probe', (req, res) => probeHandler(probes)(req, res));
  server.get('/', (_req, res) =>
    send(
      res,
      200,
      'text/html; charset=utf-8',
      statusPage({
        version: VERSION,
        uptimeSeconds: process.uptime(),
        telemetryPath: config.web.telemetryPath,
        defaultTarget: current.defaultTarget,
        targets: [...targets.values()].map((t) => t.status()),
        now: Date.now(),
      }),
      { 'Content-Security-Policy': STATUS_PAGE_CSP, 'Cache-Control': 'no-store' },
    ),
  );
  server.get('/-/healthy', (_req, res) => send(res, 200, text, 'OK\n'));
  // Browsers ask for it on every page; a 404 would be an error in their console.
  server.get('/favicon.ico', (_req, res) => {
    res.writeHead(204).end();
  });
  // Ready once any target has logged in: one vCenter being down must not take the others' scrapes
  // out of a Kubernetes Service.
  // Not ready says why, in the words of the log line of the failed login.
  server.get('/-/ready', (_req, res) => {
    const all = [...targets.values()];
    if (all.some((t) => t.loggedIn())) return send(res, 200, text, 'Ready\n');
    const why = all.flatMap((t) => {
      const problem = t.loginProblem();
      return problem === undefined ? [] : [`target ${t.name}: ${problem}\n`];
    });
    return send(res, 503, text, `Not ready: no vCenter login yet\n${why.join('')}`);
  });

  let started = false;
  let closing: Promise<void> | undefined;
  let reloading: Promise<boolean> = Promise.resolve(true);
  const reloadOnce = async (): Promise<boolean> => {
    if (!opts.reloadConfig || closing) return false;
    let next: Config;
    try {
      next = await opts.reloadConfig();
    } catch (e) {
      reloadOk.set(0);
      logger.error(
        { error: e instanceof Error ? e.message : String(e) },
        'config reload failed; keeping the running config',
      );
      return false;
    }
    const result = await reconcileTargets(current, next, targets, (t) => createTarget(t, next, logger));
    if (result.ok && closing) {
      // Shutdown began while this reload read its files: the targets it made are never started, and
      // are closed here, since close() no longer sees them.
      const made = result.added.flatMap((name) => result.targets.get(name) ?? []);
      await Promise.all(made.map((t) => t.close()));
      return false;
    }
    if (!result.ok) {
      reloadOk.set(0);
      logger.error({ error: result.error }, 'config reload failed; keeping the running config');
      return false;
    }
    current = next;
    targets = result.targets;
    wire();
    for (const name of result.added) if (started) targets.get(name)?.start();
    // Removed (or changed) targets end their sessions after the swap: new scrapes no longer reach them.
    await Promise.all(result.removed.map((t) => t.close()));
    reloadOk.set(1);
    reloadTime.set(Date.now() / 1000);
    logger.info(
      {
        kept: result.kept.join(','),
        added: result.added.join(','),
        removed: result.removed.map((t) => t.name).join(','),
      },
      'config reloaded',
    );
    if (result.restartNeeded.length > 0) {
      logger.warn(
        { settings: result.restartNeeded.join(',') },
        'changed settings apply only after a restart',
      );
    }
    return true;
  };
  const reload = (): Promise<boolean> => {
    // One reload at a time: SIGHUP and POST /-/reload arriving together must not race.
    reloading = reloading.then(reloadOnce, reloadOnce);
    return reloading;
  };
  server.post('/-/reload', async (req, res) => {
    req.resume();
    if (!opts.enableLifecycle) {
      send(res, 403, text, 'Lifecycle API is not enabled (--web.enable-lifecycle).\n');
      return;
    }
    if (await reload()) send(res, 200, text, 'Reloaded\n');
    else send(res, 500, text, 'Reload failed; the running configuration is kept (see the log).\n');
  });

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
      started = true;
      for (const t of targets.values()) t.start();
      return address;
    },
    reload,
    close(deadline = Date.now() + CLOSE_MS) {
      closing ??= (async () => {
        // A reload stuck reading a password file must not hold the shutdown.
        await until(reloading, Date.now() + msLeft(deadline) / 4);
        for (const t of targets.values()) t.abort();
        // The server drains beside the targets' Logouts: one deadline, no bounds adding up.
        await Promise.all([
          server.close(Math.min(SERVER_GRACE_MS, msLeft(deadline))).then(() => web?.close()),
          ...[...targets.values()].map((t) => t.close(deadline)),
        ]);
      })();
      return closing;
    },
  };
}
