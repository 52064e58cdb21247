import type { Logger } from 'pino';
import type { VimClient } from './client.js';
import { assembleInventory, type Inventory } from './inventory.js';
import { applyUpdate, type WatchRecords } from './inventory-updates.js';
import {
  inventoryFilterSpec,
  inventorySpecs,
  singletonRefs,
  type InventorySpecs,
} from './inventory-specs.js';
import { AlarmNames, triggeredAlarmMoids } from './alarm-names.js';
import { createContainerView, UnrequestedProperties } from './property-collector.js';
import { el, type MoRef } from './soap/envelope.js';
import { isVsphereError, VsphereError } from './errors.js';
import { child, type XmlNode } from './soap/xml.js';
import { InventoryLoad } from './inventory-loader.js';
import { msLeft, until } from './waits.js';

/** How the watch runs its full reads. */
export interface WatchOptions {
  /** Deadline of a full read (the first of a session, a resync), in ms; default 600 s. */
  loadTimeoutMs?: number;
}

// A 50,000-VM inventory takes a real vCenter minutes to send (~1,000 objects per answer at
// 100 ms or more each, plus its own property collection); ten minutes leaves room for that.
const DEFAULT_LOAD_TIMEOUT_MS = 600_000;

/** Server-side objects of one watch; they live as long as the session that created them. */
interface WatchState extends WatchRecords {
  generation: number;
  collector: MoRef;
  view: MoRef;
  version: string;
  /** ServiceContent.rootFolder, which the view does not list: where inventory paths start. */
  rootFolder: string;
}

// Bounds one WaitForUpdatesEx answer; more updates come back `truncated` and are fetched at once.
const MAX_OBJECT_UPDATES = 1000;
// An update skipped as malformed leaves the records behind vCenter's (a VM that left stays, one that
// entered is missing): the watch is read again in full, but not more often than this, since an
// object that keeps coming malformed would otherwise cost a full read on each of its changes.
const SKIPPED_RESYNC_MS = 15 * 60_000;

/**
 * The inventory model kept current incrementally: a private PropertyCollector with one filter on a
 * ContainerView of every type the collectors read (and the singletons they read), read with
 * WaitForUpdatesEx (maxWaitSeconds 0) once per collection. The first read of a session is the full
 * state; later reads carry only what changed, so a steady-state
 * collection retrieves no full inventory. Anything unexpected drops the watch and a new one is
 * built (one full read), so a half-applied update can never linger. A full read runs in the
 * background under its own deadline (InventoryLoad): it outlives the scrape that started it.
 */
export class InventoryWatch {
  private state: WatchState | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** The full read in flight (first of a session or a resync), owned by no scrape. */
  private load: { generation: number; run: InventoryLoad<WatchState> } | undefined;
  /** Objects the watch held at its last full read or update, the "M" of "N of M". */
  private known: number | undefined;
  /** Teardowns of watches dropped or abandoned, awaited by close(). */
  private readonly cleanups = new Set<Promise<void>>();
  private readonly alarms: AlarmNames;
  /** When skipped updates last made the watch read everything again (ms since the epoch). */
  private skippedResyncAt = -Infinity;

  constructor(
    private readonly client: VimClient,
    private readonly logger: Logger,
    /** What the one filter reads: the base VM/host/parent paths united with the collectors' properties. */
    private readonly specs: InventorySpecs = inventorySpecs(),
    private readonly options: WatchOptions = {},
  ) {
    this.alarms = new AlarmNames(client, logger);
  }

  /**
   * The inventory as of now. A full read still running when `signal` fires is left running and
   * this rejects with VSPHERE_INVENTORY_LOADING (its progress); the next fetch uses its result.
   */
  fetch(signal?: AbortSignal): Promise<Inventory> {
    // Serialised: an aborted collection still finishing must not interleave its updates with the next.
    const run = this.busy.then(() => this.fetchNow(signal));
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** VSPHERE_INVENTORY_LOADING with the progress of the full read in flight, or undefined. */
  loading(): Error | undefined {
    return this.load?.run.loadingError();
  }

  /** Stops a full read in flight and destroys the collector and view (best effort, bounded); the session's Logout follows. */
  async close(timeoutMs = 1000): Promise<void> {
    this.closed = true;
    const by = Date.now() + timeoutMs;
    this.load?.run.abort('the exporter is shutting down');
    const load = this.load?.run.done.catch(() => undefined);
    await until(Promise.all([this.busy, load]), by);
    const s = this.state;
    this.state = undefined;
    if (s) this.track(this.teardown(s, msLeft(by)));
    await until(Promise.all(this.cleanups), by);
  }

  private async fetchNow(signal?: AbortSignal): Promise<Inventory> {
    if (this.closed) throw new VsphereError('VSPHERE_CLOSED', 'inventory watch is closed');
    await this.client.content(signal);
    const generation = this.client.session.generation;
    // Collector, filter and view died with the session that created them.
    if (this.state && this.state.generation !== generation) this.state = undefined;
    if (this.load && this.load.generation !== generation) {
      this.load.run.abort('the session it was read under has ended');
      this.load = undefined;
    }
    let current: WatchState | undefined;
    if (this.state && !this.load) {
      const s = this.state;
      try {
        await this.poll(s, signal);
        this.known = s.objects.size;
        current = s;
      } catch (e) {
        this.state = undefined;
        if (s.generation === this.client.session.generation) this.track(this.teardown(s, 2000));
        if (signal?.aborted || isVsphereError(e, 'VSPHERE_CLOSED')) throw e;
        // A failed update read of a live watch (a re-login that took its objects, a dropped
        // connection, a bad answer) is followed at once by one full read under a new watch, in
        // the background like the first: the collection still succeeds when it is quick.
        this.logger.debug(
          { error: e instanceof Error ? e.message : String(e) },
          'inventory watch dropped, resyncing',
        );
        current = await this.loaded(signal, 'resync after a dropped watch');
      }
    }
    current ??= await this.loaded(signal, 'first read of this session');
    return this.snapshot(current, signal);
  }

  /** The inventory as the watch holds it (assembled again only after a change), with its alarm names. */
  private async snapshot(state: WatchState, signal?: AbortSignal): Promise<Inventory> {
    state.alarmMoids ??= triggeredAlarmMoids(state.objects.values());
    // Only alarms not named yet this session cost a call: none at steady state.
    const alarmNames = await this.alarms.resolve(state.alarmMoids, signal);
    if (!state.last) {
      state.last = assembleInventory([...state.objects.values()], {
        rootFolder: state.rootFolder,
        alarmNames,
      });
    } else if (state.last.alarmNames !== alarmNames) state.last = { ...state.last, alarmNames };
    return state.last;
  }

  /** The full read in flight (or a new one), waited for until `signal` fires. */
  private async loaded(signal: AbortSignal | undefined, kind: string): Promise<WatchState> {
    const load = (this.load ??= this.startLoad(kind));
    try {
      return await load.run.wait(signal);
    } catch (e) {
      // A re-login during the read took its objects with it: read again under the new session.
      const now = this.client.session.generation;
      if (signal?.aborted || this.closed || load.generation === now || this.load) throw e;
      this.load = this.startLoad('read again after a re-login');
      return this.load.run.wait(signal);
    }
  }

  private startLoad(kind: string): { generation: number; run: InventoryLoad<WatchState> } {
    const generation = this.client.session.generation;
    const run = new InventoryLoad<WatchState>((sig, progress) => this.start(sig, progress), {
      timeoutMs: this.options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS,
      kind,
      ...(this.known !== undefined ? { expected: this.known } : {}),
    });
    const entry = { generation, run };
    const settle = (state?: WatchState): void => {
      if (this.load !== entry) {
        // Aborted for a newer session or a shutdown, yet finished: nobody will poll it.
        if (state) this.track(this.teardown(state, 2000));
        return;
      }
      this.load = undefined;
      if (!state) return;
      this.state = state;
      this.known = state.objects.size;
    };
    run.done.then(settle, () => settle());
    return entry;
  }

  private async start(signal: AbortSignal, progress: { received: number }): Promise<WatchState> {
    const content = await this.client.content(signal);
    const generation = this.client.session.generation;
    const created: Partial<WatchState> = { generation };
    try {
      const pc = await this.client.invoke('CreatePropertyCollector', content.propertyCollector, '', signal);
      created.collector = ref(pc, 'PropertyCollector');
      created.view = await createContainerView(this.client, content.rootFolder, this.specs.viewTypes, signal);
      // One filter: every object of the view plus the ServiceContent singletons collectors read.
      const filter = inventoryFilterSpec(created.view, this.specs, singletonRefs(this.specs, content));
      await this.client.invoke(
        'CreateFilter',
        created.collector,
        `<spec>${filter}</spec><partialUpdates>false</partialUpdates>`,
        signal,
      );
      const state: WatchState = {
        generation,
        collector: created.collector,
        view: created.view,
        version: '',
        rootFolder: content.rootFolder.value,
        objects: new Map(),
      };
      await this.poll(state, signal, progress);
      this.logger.debug({ objects: state.objects.size }, 'inventory watch started');
      return state;
    } catch (e) {
      if (created.collector && created.view) this.track(this.teardown(created as WatchState, 2000));
      else if (created.collector)
        this.track(this.destroy('DestroyPropertyCollector', created.collector, 2000));
      throw e;
    }
  }

  private async poll(
    state: WatchState,
    signal?: AbortSignal,
    progress?: { received: number },
  ): Promise<void> {
    const incremental = state.version !== '';
    let skipped = 0;
    // `truncated` means more updates are waiting: ask again at once with the version just received.
    for (let more = true; more;) {
      const odd = new UnrequestedProperties(this.specs.propSets);
      const res = await this.client.invoke(
        'WaitForUpdatesEx',
        state.collector,
        `${el('version', state.version)}<options><maxWaitSeconds>0</maxWaitSeconds>${el('maxObjectUpdates', MAX_OBJECT_UPDATES)}</options>`,
        signal,
        // Envelope > Body > WaitForUpdatesExResponse > returnval > filterSet > objectSet.
        {
          depth: 5,
          name: 'objectSet',
          onElement: (o) => {
            applyUpdate(state, o, odd);
            if (progress) progress.received++;
          },
        },
      );
      odd.report(this.logger, 'WaitForUpdatesEx');
      skipped += odd.skippedObjects;
      const rv = child(res, 'returnval');
      if (!rv) break; // no changes since state.version
      const version = child(rv, 'version')?.text;
      if (version === undefined)
        throw new VsphereError('VSPHERE_BAD_RESPONSE', 'WaitForUpdatesEx: UpdateSet without a version');
      state.version = version;
      more = child(rv, 'truncated')?.text === 'true';
    }
    // A full read that skips an object just lacks it; skipped changes leave the records stale.
    if (incremental && skipped > 0 && Date.now() - this.skippedResyncAt >= SKIPPED_RESYNC_MS) {
      this.skippedResyncAt = Date.now();
      throw new VsphereError(
        'VSPHERE_BAD_RESPONSE',
        `WaitForUpdatesEx: ${skipped} object updates could not be applied; reading the inventory again`,
      );
    }
  }

  /** Keeps `cleanup` until it settles, so close() can wait for it. */
  private track(cleanup: Promise<void>): void {
    this.cleanups.add(cleanup);
    void cleanup.finally(() => this.cleanups.delete(cleanup));
  }

  private async teardown(s: WatchState, timeoutMs: number): Promise<void> {
    // Destroying the collector destroys its filter; the view is separate.
    await Promise.all([
      this.destroy('DestroyPropertyCollector', s.collector, timeoutMs),
      this.destroy('DestroyView', s.view, timeoutMs),
    ]);
  }

  private async destroy(method: string, obj: MoRef, timeoutMs: number): Promise<void> {
    try {
      await this.client.transport.call(method, obj, '', { signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      this.logger.debug(
        { method, error: e instanceof Error ? e.message : String(e) },
        'inventory watch cleanup failed',
      );
    }
  }
}

function ref(res: XmlNode, fallbackType: string): MoRef {
  const rv = child(res, 'returnval');
  if (!rv?.text)
    throw new VsphereError('VSPHERE_BAD_RESPONSE', `${res.name}: no managed object reference returned`);
  return { type: rv.attrs.type ?? fallbackType, value: rv.text };
}
