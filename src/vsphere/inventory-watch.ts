import type { Logger } from 'pino';
import type { VimClient } from './client.js';
import { assembleInventory, type Inventory } from './inventory.js';
import { cloneItem, emptyItem, setProperty, type InventoryItem } from './inventory-records.js';
import {
  inventoryFilterSpec,
  inventorySpecs,
  singletonRefs,
  type InventorySpecs,
} from './inventory-specs.js';
import { AlarmNames, triggeredAlarmMoids } from './alarm-names.js';
import { createContainerView, UnrequestedProperties } from './property-collector.js';
import { el, type MoRef } from './soap/envelope.js';
import { isVsphereError, VsphereError } from './soap/errors.js';
import { child, type XmlNode } from './soap/xml.js';
import { unslice } from './values.js';

/** Server-side objects of one watch; they live as long as the session that created them. */
interface WatchState {
  generation: number;
  collector: MoRef;
  view: MoRef;
  /** ServiceContent.rootFolder, which the view does not list: where inventory paths start. */
  rootFolder: string;
  version: string;
  /** Compact records by "type:moid"; a changed object gets a new record, never an edited one. */
  objects: Map<string, InventoryItem>;
  /** The inventory last handed out, reused while nothing changed. */
  last?: Inventory;
  /** The alarms named in the records' triggeredAlarmState, found again after a change. */
  alarmMoids?: Set<string>;
}

// Bounds one WaitForUpdatesEx answer; more updates come back `truncated` and are fetched at once.
const MAX_OBJECT_UPDATES = 1000;

/**
 * The inventory model kept current incrementally: a private PropertyCollector with one filter on a
 * ContainerView of every type the collectors read (and the singletons they read), read with
 * WaitForUpdatesEx (maxWaitSeconds 0) once per collection. The first read of a session is the full
 * state; later reads carry only what changed, so a steady-state collection retrieves no full
 * inventory. Anything unexpected drops the watch and the collection starts over with a new one
 * (one full read), so a half-applied update can never linger.
 */
export class InventoryWatch {
  private state: WatchState | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly alarms: AlarmNames;

  constructor(
    private readonly client: VimClient,
    private readonly logger: Logger,
    /** What the one filter reads: the base VM/host/parent paths united with the collectors' properties. */
    private readonly specs: InventorySpecs = inventorySpecs(),
  ) {
    this.alarms = new AlarmNames(client, logger);
  }

  /** The inventory as of now. */
  fetch(signal?: AbortSignal): Promise<Inventory> {
    // Serialised: an aborted collection still finishing must not interleave its updates with the next.
    const run = this.busy.then(() => this.fetchNow(signal));
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** Destroys the collector and view (best effort, bounded); the session's Logout follows. */
  async close(timeoutMs = 1000): Promise<void> {
    this.closed = true;
    await Promise.race([this.busy, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    const s = this.state;
    this.state = undefined;
    if (s) await this.teardown(s, timeoutMs);
  }

  private async fetchNow(signal?: AbortSignal): Promise<Inventory> {
    if (this.closed) throw new VsphereError('VSPHERE_CLOSED', 'inventory watch is closed');
    await this.client.content(signal);
    // Collector, filter and view died with the session that created them.
    if (this.state && this.state.generation !== this.client.session.generation) this.state = undefined;
    try {
      if (this.state) await this.poll(this.state, signal);
      else this.state = await this.start(signal);
    } catch (e) {
      const s = this.state;
      this.state = undefined;
      if (s && s.generation === this.client.session.generation) void this.teardown(s, 2000);
      // A failed update read of a live watch (a re-login that took its objects, a dropped
      // connection, a bad answer) is followed at once by one full read under a new watch: the
      // collection still succeeds. Only a failure of that fresh start fails the collection.
      if (!s || signal?.aborted || isVsphereError(e, 'VSPHERE_CLOSED')) throw e;
      this.logger.debug(
        { error: e instanceof Error ? e.message : String(e) },
        'inventory watch dropped, resyncing',
      );
      this.state = await this.start(signal);
    }
    return this.snapshot(this.state, signal);
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

  private async start(signal?: AbortSignal): Promise<WatchState> {
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
        rootFolder: content.rootFolder.value,
        version: '',
        objects: new Map(),
      };
      await this.poll(state, signal);
      this.logger.debug({ objects: state.objects.size }, 'inventory watch started');
      return state;
    } catch (e) {
      if (created.collector && created.view) void this.teardown(created as WatchState, 2000);
      else if (created.collector) void this.destroy('DestroyPropertyCollector', created.collector, 2000);
      throw e;
    }
  }

  private async poll(state: WatchState, signal?: AbortSignal): Promise<void> {
    // `truncated` means more updates are waiting: ask again at once with the version just received.
    for (let more = true; more;) {
      const odd = new UnrequestedProperties(this.specs.propSets);
      const res = await this.client.invoke(
        'WaitForUpdatesEx',
        state.collector,
        `${el('version', state.version)}<options><maxWaitSeconds>0</maxWaitSeconds>${el('maxObjectUpdates', MAX_OBJECT_UPDATES)}</options>`,
        signal,
        // Envelope > Body > WaitForUpdatesExResponse > returnval > filterSet > objectSet.
        { depth: 5, name: 'objectSet', onElement: (o) => apply(state, o, odd) },
      );
      odd.report(this.logger, 'WaitForUpdatesEx');
      const rv = child(res, 'returnval');
      if (!rv) return; // no changes since state.version
      const version = child(rv, 'version')?.text;
      if (version === undefined)
        throw new VsphereError('VSPHERE_BAD_RESPONSE', 'WaitForUpdatesEx: UpdateSet without a version');
      state.version = version;
      more = child(rv, 'truncated')?.text === 'true';
    }
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

/** Applies one ObjectUpdate (enter / modify / leave) to the records. */
function apply(state: WatchState, update: XmlNode, odd: UnrequestedProperties): void {
  const kind = child(update, 'kind')?.text;
  const objNode = child(update, 'obj');
  const type = objNode?.attrs.type;
  if (!objNode || !type || !kind)
    throw new VsphereError('VSPHERE_BAD_RESPONSE', 'WaitForUpdatesEx: ObjectUpdate without kind or obj');
  const key = `${type}:${objNode.text}`;
  state.last = undefined;
  state.alarmMoids = undefined;
  if (kind === 'leave') {
    state.objects.delete(key);
    return;
  }
  const old = kind === 'enter' ? undefined : state.objects.get(key);
  // Records are decoded from the changed values only; the property trees are garbage at once.
  const it = old ? cloneItem(old) : emptyItem(type, objNode.text);
  for (const c of update.children) {
    if (c.name !== 'changeSet') continue;
    const name = child(c, 'name')?.text;
    const op = child(c, 'op')?.text;
    if (name === undefined || !odd.keep(type, objNode.text, name)) continue;
    const val = child(c, 'val');
    setProperty(it, name, (op === 'assign' || op === 'add') && val ? val : undefined);
  }
  state.objects.set(unslice(key), it);
}
