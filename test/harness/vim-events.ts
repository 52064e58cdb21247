/**
 * vCenter events read through the raw SOAP client (no code shared with the exporter): its own
 * EventHistoryCollector, its own decoding, for comparing with vsphere_events_total.
 */
import { allTags, firstTag, refXml, xmlEscape, type MoRef, type RawVimClient } from './vim-soap.js';

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };
const ENTITY_ARGS = ['vm', 'host', 'ds', 'net', 'dvs', 'computeResource', 'datacenter'];

/** ServiceContent.eventManager. */
export async function eventManager(c: RawVimClient): Promise<MoRef> {
  const xml = await c.call('RetrieveServiceContent', refXml('_this', SERVICE_INSTANCE));
  const m = /<eventManager type="([^"]+)">([^<]+)<\/eventManager>/.exec(xml);
  if (!m) throw new Error('no eventManager in ServiceContent');
  return { type: m[1]!, value: m[2]! };
}

/** loginTime of the session of `user` that is not the raw client's own (SessionManager.sessionList). */
export async function otherSessionLoginTime(c: RawVimClient, user: string): Promise<string> {
  const { list, current } = await c.sessions();
  const other = list.find((s) => s.userName === user && s.key !== current?.key);
  if (!other) throw new Error(`no other session of ${user}`);
  const { propertyCollector, sessionManager } = await c.serviceContent();
  const xml = await c.call(
    'RetrievePropertiesEx',
    refXml('_this', propertyCollector) +
      `<specSet><propSet><type>SessionManager</type><pathSet>sessionList</pathSet></propSet>` +
      `<objectSet>${refXml('obj', sessionManager)}</objectSet></specSet><options/>`,
  );
  const session = allTags(xml, 'UserSession').find((s) => firstTag(s, 'key') === other.key);
  const t = session && firstTag(session, 'loginTime');
  if (!t) throw new Error('the session has no loginTime');
  return t;
}

/** description.eventInfo as event type → category. */
export async function eventCategories(c: RawVimClient, em: MoRef): Promise<Map<string, string>> {
  const { propertyCollector } = await c.serviceContent();
  const xml = await c.call(
    'RetrievePropertiesEx',
    refXml('_this', propertyCollector) +
      `<specSet><propSet><type>EventManager</type><pathSet>description.eventInfo</pathSet></propSet>` +
      `<objectSet>${refXml('obj', em)}</objectSet></specSet><options/>`,
  );
  return new Map(
    allTags(xml, 'EventDescriptionEventDetail').map((d) => [
      firstTag(d, 'key') ?? '',
      firstTag(d, 'category') ?? '',
    ]),
  );
}

/** One event as the raw client reads it. */
export interface RawEvent {
  key: number;
  type: string;
  entityKind: string;
  severity: string;
}

/** The raw client's own collector from `beginTime` on. */
export class RawEventCollector {
  private constructor(
    private readonly c: RawVimClient,
    readonly ref: MoRef,
    private readonly categories: Map<string, string>,
  ) {}

  /** CreateCollectorForEvents with a time filter beginning at `beginTime` (vCenter's text). */
  static async create(c: RawVimClient, beginTime: string): Promise<RawEventCollector> {
    const em = await eventManager(c);
    const xml = await c.call(
      'CreateCollectorForEvents',
      refXml('_this', em) + `<filter><time><beginTime>${xmlEscape(beginTime)}</beginTime></time></filter>`,
    );
    const m = /<returnval type="([^"]+)">([^<]+)<\/returnval>/.exec(xml);
    if (!m) throw new Error('no collector returned');
    return new RawEventCollector(c, { type: m[1]!, value: m[2]! }, await eventCategories(c, em));
  }

  /** Every event not read yet (ReadNextEvents until an empty page). */
  async readAll(): Promise<RawEvent[]> {
    const out: RawEvent[] = [];
    for (;;) {
      const xml = await this.c.call('ReadNextEvents', refXml('_this', this.ref) + '<maxCount>100</maxCount>');
      const events = [...xml.matchAll(/<returnval\s([^>]*)>([\s\S]*?)<\/returnval>/g)];
      if (events.length === 0) return out;
      for (const [, attrs, body] of events) out.push(this.decode(attrs!, body!));
    }
  }

  /** DestroyCollector. */
  async destroy(): Promise<void> {
    await this.c.call('DestroyCollector', refXml('_this', this.ref));
  }

  private decode(attrs: string, body: string): RawEvent {
    const xsiType = /(?:^|\s)[\w.-]+:type="([^"]+)"/.exec(attrs)?.[1] ?? '';
    const extended = xsiType === 'EventEx' || xsiType === 'ExtendedEvent';
    const type = extended ? (firstTag(body, 'eventTypeId') ?? xsiType) : xsiType;
    let entityKind = (xsiType === 'EventEx' && firstTag(body, 'objectType')) || 'none';
    for (const arg of ENTITY_ARGS) {
      const m = new RegExp(`<${arg}>[\\s\\S]*?<${arg} type="([^"]+)">`).exec(body);
      if (m && entityKind === 'none') {
        entityKind = m[1]!;
        break;
      }
    }
    const severity =
      xsiType === 'EventEx'
        ? firstTag(body, 'severity') || 'info'
        : this.categories.get(type) || this.categories.get(xsiType) || 'unknown';
    return { key: Number(firstTag(body, 'key')), type, entityKind, severity };
  }
}

/** Events counted by `type|entity_kind|severity`. */
export function tally(events: readonly RawEvent[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) {
    const id = `${e.type}|${e.entityKind}|${e.severity}`;
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}
