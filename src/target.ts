import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CollectContext } from './collectors/collector.js';
import { enabledCollectors } from './collectors/registry.js';
import { compileFilter } from './collectors/filter.js';
import { VERSION } from './config/load.js';
import { CA_FILE_MAX_BYTES, readRegularFile } from './config/read-file.js';
import { currentIdentity, passwordFileExposure } from './config/password-file-mode.js';
import { passwordSource } from './config/password-source.js';
import type { CollectorOptions, Config, TargetConfig } from './config/schema.js';
import { BackgroundCollector } from './scrape/background.js';
import { Scraper } from './scrape/scraper.js';
import { SoapStats } from './scrape/self-stats.js';
import type { CollectionSource } from './server/metrics-handler.js';
import type { TargetStatus } from './server/status-page.js';
import { fetchInventory } from './vsphere/inventory.js';
import { InventoryWatch } from './vsphere/inventory-watch.js';
import { inventorySpecs } from './vsphere/inventory-specs.js';
import { AlarmNames } from './vsphere/alarm-names.js';
import { LicenseAssignments } from './vsphere/license-assignments.js';
import { PerfManager } from './vsphere/perf-manager.js';
import { EventReader } from './vsphere/event-reader.js';
import { connectVim } from './vsphere/connect.js';
import { connectRest } from './vsphere/rest/connect.js';
import { TaggingApi } from './vsphere/rest/tagging.js';
import { TagSource } from './vsphere/tag-source.js';
import { msLeft, until } from './vsphere/waits.js';
import { errorReason } from './vsphere/errors.js';

// A removed target (reload) has this long to end its sessions.
const CLOSE_MS = 4000;
// Of the time left at close, what closing the connection pool keeps after the Logouts.
const POOL_RESERVE_MS = 200;
// Until the first login succeeds, it is retried this often (doubling up to the max) without waiting
// for a scrape: a readiness probe keeps scrapes away until then. Lockout-safe: refused passwords
// are held back by the session's own back-off.
const START_RETRY_MS = 15_000;
const START_RETRY_MAX_MS = 300_000;

/** One vCenter/ESXi with everything of its own: pool, session, inventory, collectors, scraper. */
export interface Target {
  readonly name: string;
  /** Where its scrapes' collections come from (on-scrape or background). */
  readonly source: CollectionSource;
  /** True once it has logged in at least once. */
  loggedIn(): boolean;
  /** Why the last login failed (with a hint at the fix), until one succeeds. */
  loginProblem(): string | undefined;
  /** What the status page shows; reads what is known and never starts a collection. */
  status(): TargetStatus;
  /** Logs in (or starts background collection) without waiting for a scrape. */
  start(): void;
  /** Stops background work and aborts a collection in flight (its scrapes answer at once). */
  abort(): void;
  /** Aborts work, ends its REST and SOAP sessions and closes its connections, all by `deadline` (ms since the epoch). */
  close(deadline?: number): Promise<void>;
}

/** Builds a target; nothing connects until start() or the first scrape. */
export async function createTarget(
  t: TargetConfig,
  config: Pick<Config, 'scrape'> & { options: CollectorOptions },
  parentLogger: Logger,
): Promise<Target> {
  const logger = parentLogger.child({ target: t.name });
  const v = t.vsphere;
  if (v.insecureSkipVerify) {
    logger.warn(
      { url: v.url.origin },
      'TLS certificate verification of vCenter is DISABLED (insecure_skip_verify)',
    );
  }
  if (v.passwordFile !== undefined) await warnIfReadableByOthers(v.passwordFile, logger);
  const ca = v.caFile ? await readCa(v.caFile, t.name) : undefined;
  const soapStats = new SoapStats();
  // One password source and one scrubber for the target's SOAP and REST sessions.
  const password = passwordSource(v);
  const { transport, scrubber, session, client } = connectVim(v, password, ca, logger, {
    onCall: (method, outcome, seconds) => soapStats.record(method, outcome, seconds),
  });
  const perf = new PerfManager(client, {
    maxQueryMetrics: v.maxQueryMetrics,
    batchObjects: v.perfBatchObjects,
    concurrency: v.perfConcurrency,
    connections: v.maxConnections,
  });
  const collectors = enabledCollectors(t.collectors, { options: config.options });
  // The tag collector's REST session, only when it runs, opened at its first read.
  const tags = collectors.some((c) => c.name === 'tag')
    ? new TagSource(() => {
        const rest = connectRest(v, password, ca, logger, scrubber);
        return { tagging: new TaggingApi(rest), close: (deadline) => rest.close(deadline) };
      })
    : undefined;
  // One event collector per session, only when the events collector runs (a call per scrape).
  const events = collectors.some((c) => c.name === 'events') ? new EventReader(client, logger) : undefined;
  // One filter per target: what every enabled collector reads from the model, read together.
  const specs = inventorySpecs(collectors.flatMap((c) => c.properties ?? []));
  const alarms = new AlarmNames(client, logger);
  const inventory =
    v.inventory === 'incremental'
      ? new InventoryWatch(client, logger, specs, { loadTimeoutMs: v.inventoryTimeoutMs })
      : {
          fetch: (signal?: AbortSignal) => fetchInventory(client, specs, signal, alarms),
          close: () => Promise.resolve(),
        };
  const { tagCategories, customAttributes } = config.options.infoLabels;
  const tag = collectors.find((c) => c.name === 'tag');
  // The vm and host collectors read the promoted labels from the tag collector's reads.
  const infoLabels =
    tag?.infoLabels && tagCategories.length + customAttributes.length > 0
      ? (ctx: CollectContext) => tag.infoLabels!(ctx)
      : undefined;
  const { scrape } = config;
  // Background mode's collections are bounded by its interval too, whoever waits for them.
  const intervalCaps =
    scrape.collection === 'background' && scrape.intervalSeconds < scrape.maxTimeoutSeconds;
  const capSeconds = intervalCaps ? scrape.intervalSeconds : scrape.maxTimeoutSeconds;
  const capSource = intervalCaps ? 'scrape.interval_seconds, background mode' : 'scrape.max_timeout_seconds';
  // A background collection has no scrape to state a budget: scrape.timeout_seconds, within the interval.
  const backgroundBudget =
    scrape.timeoutSeconds <= scrape.intervalSeconds
      ? { seconds: scrape.timeoutSeconds, source: 'scrape.timeout_seconds, background mode' }
      : { seconds: scrape.intervalSeconds, source: 'scrape.interval_seconds, background mode' };
  const scraper = new Scraper({
    client,
    inventory,
    perf,
    licenseAssignments: new LicenseAssignments(client, logger),
    ...(events ? { events } : {}),
    ...(tags ? { tags } : {}),
    collectors,
    filter: compileFilter(t.filters),
    soapStats,
    timeoutSeconds: capSeconds,
    timeoutSource: capSource,
    // On-scrape mode: a collection slower than its scrape finishes for the next one.
    ...(scrape.collection === 'on-scrape'
      ? { runOn: { seconds: scrape.collectionTimeoutSeconds, source: 'scrape.collection_timeout_seconds' } }
      : {}),
    logger,
    version: VERSION,
    tlsVerify: v.url.protocol === 'https:' && !v.insecureSkipVerify,
    peerCertificate: () => transport.peerCertificate,
    ...(infoLabels ? { infoLabels } : {}),
  });
  const background =
    scrape.collection === 'background'
      ? new BackgroundCollector(scraper, scrape.intervalSeconds, backgroundBudget, logger)
      : undefined;
  let closing: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  const stopRetry = (): void => {
    stopped = true;
    if (retry) clearTimeout(retry);
  };
  // The first login at start, and its retries until one succeeds (the failures are logged by the session).
  const firstLogin = (delayMs: number): void => {
    session.ensure(AbortSignal.timeout(scrape.timeoutSeconds * 1000)).catch(() => {
      if (stopped || session.stats.logins > 0) return;
      retry = setTimeout(() => firstLogin(Math.min(delayMs * 2, START_RETRY_MAX_MS)), delayMs);
      retry.unref();
    });
  };
  // The first read of a session may outlast every scrape: the status page says how far it got.
  const loadingStatus = (): { loading?: { code: string; message: string } } => {
    const e = 'loading' in inventory ? inventory.loading() : undefined;
    return e ? { loading: { code: errorReason(e), message: e.message } } : {};
  };
  return {
    name: t.name,
    source: background
      ? { get: (budget, hangup, reads) => background.get(budget, hangup, reads), reportsAge: true }
      : {
          get: (budget, hangup, reads) => scraper.collect(budget.seconds, hangup, budget.source, reads),
          reportsAge: true,
          staleAnswers: () => scraper.staleAnswers,
        },
    loggedIn: () => session.stats.logins > 0,
    loginProblem: () => session.loginProblem,
    status() {
      const about = session.content?.about;
      return {
        name: t.name,
        endpoint: v.url.origin,
        tlsVerify: v.url.protocol === 'https:' && !v.insecureSkipVerify,
        collection: background ? 'background' : 'on-scrape',
        last: scraper.last,
        ...(background ? {} : { staleAnswers: scraper.staleAnswers }),
        ...loadingStatus(),
        session: { loggedIn: session.isLoggedIn, ...session.stats },
        vcenter: about && {
          product: about.fullName,
          version: about.version,
          build: about.build,
          apiVersion: about.apiVersion,
        },
      };
    },
    start() {
      // Log in at start so /-/ready turns green without waiting for the first scrape.
      if (background) background.start();
      else firstLogin(START_RETRY_MS);
    },
    abort() {
      stopRetry();
      background?.stop();
      scraper.abort('exporter shutting down');
    },
    close(deadline = Date.now() + CLOSE_MS) {
      closing ??= (async () => {
        // Abort first: a scrape in flight then answers at once and Logout is not starved of time.
        stopRetry();
        background?.stop();
        scraper.abort('exporter shutting down');
        // One deadline for every step, so their bounds cannot add up past it: the steps before the
        // Logouts take a share each, the Logouts what is left (a slow vCenter still gets logged out).
        await until(scraper.idle(), Date.now() + msLeft(deadline) / 4);
        await Promise.all([
          inventory.close(Math.min(800, msLeft(deadline) / 4)),
          events?.close(Math.min(800, msLeft(deadline) / 4)),
        ]);
        const logoutBy = deadline - POOL_RESERVE_MS;
        // The REST session (tags) ends beside the SOAP Logout, not before it.
        await Promise.all([
          until(tags?.close(logoutBy) ?? Promise.resolve(), logoutBy),
          session.close(logoutBy),
        ]);
        await until(transport.close(), deadline);
      })();
      return closing;
    },
  };
}

/** Reads a target's ca_file; a ConfigError names the key when it cannot be read. */
export async function readCa(file: string, target: string): Promise<string> {
  const key = target === 'default' ? 'vsphere.ca_file (or VSPHERE_CA_FILE)' : `targets[${target}].ca_file`;
  // The same non-blocking read as at load: the file may have been swapped for a FIFO since.
  return readRegularFile(file, key, CA_FILE_MAX_BYTES);
}

// A password other local users can read is a password they have; say so, but run. Group read
// through a group the exporter holds (a Kubernetes fsGroup) is how it reads the file: not counted.
async function warnIfReadableByOthers(file: string, logger: Logger): Promise<void> {
  try {
    const st = await stat(file);
    const mode = st.mode;
    const self = currentIdentity();
    if ((self ? passwordFileExposure(st, self) : mode & 0o077) !== 0) {
      logger.warn(
        { file, mode: `0${(mode & 0o777).toString(8)}` },
        'password file is readable by group or others; chmod 600 it',
      );
    }
  } catch {
    // Unreadable files were already reported by the config loader.
  }
}
