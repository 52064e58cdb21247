import type { Logger } from 'pino';
import type { VimClient } from './client.js';
import { decodeEvent, decodeEventCategories, type EventRecord, type EventSource } from './event-decode.js';
import { retrieveOne } from './property-collector.js';
import { el, type MoRef } from './soap/envelope.js';
import { VsphereError } from './errors.js';
import { child, type XmlNode } from './soap/xml.js';
import { currentTime } from './server-clock.js';

/** How much one read may fetch. */
export interface EventReaderOptions {
  /** maxCount of one ReadNextEvents; default 500. */
  pageSize?: number;
  /** ReadNextEvents calls per read at most (a backlog is read on by the next ones); default 10. */
  maxPages?: number;
}

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_MAX_PAGES = 10;
// Keys handed out lately: a new collector starts at the time of the last event handed out, so the
// events of that very instant come again; and a server that ignores the time filter (vcsim 0.24)
// answers its latest page again. Either is recognised by key.
const RECENT_KEYS = 10_000;
const DESTROY_MS = 2000;

/** The collector of one session; it dies with the session that created it. */
interface CollectorState {
  generation: number;
  collector: MoRef;
  /** Where it starts (its filter's beginTime), in ms: older events are not this exporter's to count. */
  beginMs: number;
  categories: ReadonlyMap<string, string>;
}

/**
 * vCenter's events, read incrementally: one EventHistoryCollector per session, created by
 * EventManager.CreateCollectorForEvents with a filter beginning at the exporter's first login (at a
 * re-login: at the last event read, so nothing is read twice and nothing in between is lost), read
 * with ReadNextEvents in bounded pages, destroyed at close. Each event is handed out once.
 */
export class EventReader implements EventSource {
  private state: CollectorState | undefined;
  /** createdTime (vCenter's text and clock) of the newest event handed out, or of the first login. */
  private since: string | undefined;
  private readonly recent = new Set<number>();
  /** Read but not handed out yet (a read cut off by its deadline after some pages). */
  private pending: EventRecord[] = [];
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly pageSize: number;
  private readonly maxPages: number;

  constructor(
    private readonly client: VimClient,
    private readonly logger: Logger,
    options: EventReaderOptions = {},
  ) {
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  }

  /** The events vCenter logged since the last read (at most maxPages × pageSize; the rest come next time). */
  read(signal?: AbortSignal): Promise<readonly EventRecord[]> {
    // One read at a time: a collector's position is shared by every caller.
    const run = this.busy.then(() => this.readNow(signal));
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** Destroys the session's collector (bounded); the session's Logout follows. */
  async close(timeoutMs = DESTROY_MS): Promise<void> {
    this.closed = true;
    await Promise.race([this.busy, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    const s = this.state;
    this.state = undefined;
    if (s && s.generation === this.client.session.generation && this.client.session.isLoggedIn)
      await this.destroy(s.collector, timeoutMs);
  }

  private async readNow(signal?: AbortSignal, again = false): Promise<readonly EventRecord[]> {
    if (this.closed) throw new VsphereError('VSPHERE_CLOSED', 'event reader is closed');
    await this.client.content(signal);
    // A collector is session-scoped on vCenter: the one of an older session is gone with it.
    if (this.state && this.state.generation !== this.client.session.generation) this.state = undefined;
    const state = (this.state ??= await this.create(signal));
    try {
      for (let page = 0; page < this.maxPages; page++) {
        const got = await this.readPage(state, signal);
        if (got < this.pageSize) break;
      }
    } catch (e) {
      // A re-login mid-read (the client recovered the session, then vCenter no longer knew the old
      // session's collector): start the new session's collector, once, within this read.
      if (this.state === state && state.generation !== this.client.session.generation) {
        this.state = undefined;
        if (!again && !signal?.aborted && this.pending.length === 0) return this.readNow(signal, true);
      }
      // Pages already read have moved the collector on: hand those out rather than lose them.
      if (this.pending.length === 0) throw e;
      this.logger.debug({ error: e instanceof Error ? e.message : String(e) }, 'event read cut short');
    }
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** One ReadNextEvents; returns how many events the page held (kept or not). */
  private async readPage(state: CollectorState, signal?: AbortSignal): Promise<number> {
    let n = 0;
    await this.client.invoke('ReadNextEvents', state.collector, el('maxCount', this.pageSize), signal, {
      // Envelope > Body > ReadNextEventsResponse > returnval: one event at a time, never the whole page.
      depth: 3,
      name: 'returnval',
      onElement: (node) => {
        n++;
        this.take(node, state);
      },
    });
    return n;
  }

  private take(node: XmlNode, state: CollectorState): void {
    const e = decodeEvent(node, state.categories);
    if (!e || this.recent.has(e.key) || e.createdSeconds * 1000 < state.beginMs) return;
    this.recent.add(e.key);
    if (this.recent.size > RECENT_KEYS) this.recent.delete(this.recent.values().next().value!);
    if (this.since === undefined || e.createdSeconds * 1000 >= Date.parse(this.since))
      this.since = e.createdTime;
    this.pending.push(e);
  }

  private async create(signal?: AbortSignal): Promise<CollectorState> {
    const content = await this.client.content(signal);
    const generation = this.client.session.generation;
    if (!content.eventManager)
      throw new VsphereError(
        'VSPHERE_BAD_RESPONSE',
        'this endpoint has no EventManager (ServiceContent.eventManager)',
      );
    // The first session's login time, in vCenter's clock: events from the exporter's start on.
    this.since ??= this.client.session.loginTime ?? (await currentTime(this.client, signal));
    const begin = this.since;
    const categories = await this.categories(content.eventManager, signal);
    const res = await this.client.invoke(
      'CreateCollectorForEvents',
      content.eventManager,
      // disableFullMessage: the formatted text is never used, so vCenter need not build or send it.
      `<filter><time>${el('beginTime', begin)}</time><disableFullMessage>true</disableFullMessage></filter>`,
      signal,
    );
    const ref = child(res, 'returnval');
    if (!ref?.text)
      throw new VsphereError('VSPHERE_BAD_RESPONSE', 'CreateCollectorForEvents: no collector returned');
    const collector = { type: ref.attrs.type ?? 'EventHistoryCollector', value: ref.text };
    this.logger.debug({ begin }, 'event collector created');
    return { generation, collector, beginMs: Date.parse(begin), categories };
  }

  // The category of each event type (description.eventInfo), read once per session: static data.
  private async categories(eventManager: MoRef, signal?: AbortSignal): Promise<ReadonlyMap<string, string>> {
    try {
      const props = await retrieveOne(this.client, eventManager, ['description.eventInfo'], signal);
      return decodeEventCategories(props.get('description.eventInfo'));
    } catch (e) {
      if (signal?.aborted) throw e;
      // Without it, events still count, with severity "unknown" unless they carry one.
      this.logger.warn(
        { error: e instanceof Error ? e.message : String(e) },
        'EventManager.description.eventInfo could not be read; event severities are unknown this session',
      );
      return new Map();
    }
  }

  private async destroy(collector: MoRef, timeoutMs: number): Promise<void> {
    try {
      await this.client.transport.call('DestroyCollector', collector, '', {
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      this.logger.debug({ error: e instanceof Error ? e.message : String(e) }, 'DestroyCollector failed');
    }
  }
}
