#!/usr/bin/env node
import { ConfigError, loadConfig, VERSION } from './config/load.js';
import { createLogger } from './log/logger.js';
import { createApp } from './app.js';
import { tuneHeap } from './heap.js';

// Whatever happens in shutdown, the process is gone this long after SIGTERM (Kubernetes waits 30 s,
// systemd 90 s; our promise is 5 s).
const SHUTDOWN_LIMIT_MS = 4500;
// The one deadline every shutdown step (HTTP drain, Logouts, pool close) is given.
const SHUTDOWN_DEADLINE_MS = 4000;
// After a clean shutdown the event loop should empty at once; whatever still holds it is cut.
const DRAIN_MS = 250;
// Work in libuv's thread pool (file reads, DNS lookups, zlib, crypto): exit() joins those threads,
// so one that never returns (a read of a FIFO without writer) would hold process.exit() forever.
const THREAD_POOL_WORK = /FSReq|AddrInfo|NameInfo|Zlib|Job/;

// SIGHUP's default action ends the process; until the app can reload, a SIGHUP is ignored.
let reloadOnHup = (): void => undefined;
process.on('SIGHUP', () => reloadOnHup());

async function main(): Promise<number | undefined> {
  if (process.argv[2] === 'check') {
    const { runCheck } = await import('./check/command.js');
    return runCheck(process.argv.slice(3), process.env, {
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
    });
  }
  tuneHeap(process.env);
  let loaded;
  try {
    loaded = await loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (loaded.kind === 'help') {
    process.stdout.write(loaded.text);
    return 0;
  }
  if (loaded.kind === 'version') {
    process.stdout.write(`vsphere-exporter ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  const { config } = loaded;
  const logger = createLogger(config.log);
  let app;
  try {
    app = await createApp(config, logger, {
      ...(loaded.webConfigFile !== undefined && { webConfigFile: loaded.webConfigFile }),
      enableLifecycle: loaded.enableLifecycle === true,
      // A reload reads the same flags, file and (current) environment as the start did.
      reloadConfig: async () => {
        const next = await loadConfig(process.argv.slice(2), process.env);
        if (next.kind !== 'run') throw new Error('unexpected command line on reload');
        return next.config;
      },
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  try {
    await app.start();
  } catch (e) {
    logger.error(
      { error: e instanceof Error ? e.message : String(e), address: config.web.listenAddress },
      'cannot listen',
    );
    await app.close();
    return 1;
  }
  /** process.exit(code), or, when thread-pool work is stuck (exit() would wait for it), ends by signal. */
  const hardExit = (code: number): void => {
    const stuck = process.getActiveResourcesInfo().filter((r) => THREAD_POOL_WORK.test(r));
    if (stuck.length === 0) process.exit(code);
    logger.warn(
      { pending: stuck.join(',') },
      'work stuck in the thread pool (a password file that blocks?); ending by SIGTERM',
    );
    // With no listener left, SIGTERM takes its default action: the process ends at once, without
    // the exit() that would wait for the stuck thread. SIGKILL if even that did not happen.
    process.removeAllListeners('SIGTERM');
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 200);
  };
  let stopping = false;
  const stop = (signal: string): void => {
    // Ctrl-C in a terminal can deliver SIGINT and a supervisor's SIGTERM together: shut down once.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.warn('shutdown took too long; exiting');
      hardExit(0);
    }, SHUTDOWN_LIMIT_MS).unref();
    const drained = (code: number): void => {
      process.exitCode = code;
      setTimeout(() => hardExit(code), DRAIN_MS).unref();
    };
    app.close(Date.now() + SHUTDOWN_DEADLINE_MS).then(
      () => {
        logger.info('stopped');
        drained(0);
      },
      (e: unknown) => {
        logger.error({ error: e instanceof Error ? e.message : String(e) }, 'shutdown failed');
        drained(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  reloadOnHup = () => {
    logger.info('SIGHUP: reloading the configuration');
    void app.reload();
  };
  return undefined;
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`vsphere-exporter: fatal: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
