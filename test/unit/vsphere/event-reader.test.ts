import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { VimClient } from '../../../src/vsphere/client.js';
import { EventReader } from '../../../src/vsphere/event-reader.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { parseXml, type StreamSpec, type XmlNode } from '../../../src/vsphere/soap/xml.js';

const LOGIN = '2026-12-06T10:00:00.5Z';
const at = (s: number): string => new Date(Date.parse(LOGIN) + s * 1000).toISOString();

/** A vCenter with an event log and one collector position per session, seen through a fake VimClient. */
class FakeVcenter {
  events: { key: number; type: string; time: string }[] = [];
  calls: { method: string; body: string }[] = [];
  session = { generation: 1, loginTime: LOGIN as string | undefined, isLoggedIn: true };
  /** The time filter is honoured (vCenter, vcsim 8) or not (vcsim 0.24). */
  honoursTime = true;
  /** ReadNextEvents calls still answered before one fails (undefined: none fails). */
  readsBeforeFailure: number | undefined;
  /** The next ReadNextEvents meets a session that was replaced meanwhile (the client logged in again). */
  reloginOnNextRead = false;
  private collectors = new Map<string, { generation: number; pos: number }>();
  private n = 0;

  client(): VimClient {
    const content = {
      eventManager: { type: 'EventManager', value: 'EventManager' },
      propertyCollector: { type: 'PropertyCollector', value: 'pc' },
    };
    return {
      session: this.session,
      logger: pino({ level: 'silent' }),
      content: () => Promise.resolve(content),
      invoke: (
        method: string,
        self: { value: string },
        body: string,
        _s?: AbortSignal,
        stream?: StreamSpec,
      ) => this.invoke(method, self.value, body, stream),
      transport: {
        call: (method: string, self: { value: string }, body: string) =>
          this.invoke(method, self.value, body),
      },
    } as unknown as VimClient;
  }

  post(type: string, s: number): void {
    this.events.push({ key: this.events.length + 1, type, time: at(s) });
  }

  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  private invoke(method: string, self: string, body: string, stream?: StreamSpec): Promise<XmlNode> {
    this.calls.push({ method, body });
    const answer = (inner: string): Promise<XmlNode> =>
      Promise.resolve(
        parseXml(
          `<${method}Response xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${inner}</${method}Response>`,
        ),
      );
    if (method === 'RetrievePropertiesEx')
      return answer(
        '<returnval><objects><obj type="EventManager">EventManager</obj><propSet><name>description.eventInfo</name>' +
          '<val><EventDescriptionEventDetail><key>VmPoweredOnEvent</key><category>info</category></EventDescriptionEventDetail></val>' +
          '</propSet></objects></returnval>',
      );
    if (method === 'CreateCollectorForEvents') {
      const begin = /<beginTime>([^<]*)</.exec(body)![1]!;
      const id = `c${++this.n}`;
      // The position is before the first event of the filter's window (all events when it is ignored).
      const pos = this.honoursTime
        ? this.events.filter((e) => Date.parse(e.time) < Date.parse(begin)).length
        : 0;
      this.collectors.set(id, { generation: this.session.generation, pos });
      return answer(`<returnval type="EventHistoryCollector">${id}</returnval>`);
    }
    if (method === 'ReadNextEvents' && this.reloginOnNextRead) {
      this.reloginOnNextRead = false;
      this.session.generation++;
    }
    const c = this.collectors.get(self);
    if (!c || c.generation !== this.session.generation)
      return Promise.reject(new VsphereError('VSPHERE_MANAGED_OBJECT_NOT_FOUND', `no ${self}`));
    if (method === 'DestroyCollector') {
      this.collectors.delete(self);
      return answer('');
    }
    if (method === 'ReadNextEvents') {
      if (this.readsBeforeFailure !== undefined && this.readsBeforeFailure-- === 0) {
        this.readsBeforeFailure = undefined;
        return Promise.reject(new VsphereError('VSPHERE_TIMEOUT', 'deadline'));
      }
      const max = Number(/<maxCount>(\d+)</.exec(body)![1]);
      const page = this.events.slice(c.pos, c.pos + max);
      c.pos += page.length;
      const xml = page
        .map(
          (e) =>
            `<returnval xsi:type="${e.type}"><key>${e.key}</key><createdTime>${e.time}</createdTime></returnval>`,
        )
        .join('');
      const res = parseXml(`<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${xml}</r>`);
      for (const node of res.children) stream!.onElement!(node);
      return answer('');
    }
    return Promise.reject(new Error(`unexpected ${method}`));
  }
}

const keys = (events: readonly { key: number }[]): number[] => events.map((e) => e.key);

describe('EventReader', () => {
  it('reads from the first login on: earlier events never; each later one once; one call per read when caught up', async () => {
    const vc = new FakeVcenter();
    vc.post('VmCreatedEvent', -60);
    vc.post('UserLoginSessionEvent', 0);
    const r = new EventReader(vc.client(), pino({ level: 'silent' }), { pageSize: 10 });
    assert.deepEqual(keys(await r.read()), [2]);
    assert.match(
      vc.calls.find((c) => c.method === 'CreateCollectorForEvents')!.body,
      new RegExp(`<beginTime>${LOGIN}</beginTime>`),
    );
    vc.post('VmPoweredOnEvent', 5);
    const before = vc.count('ReadNextEvents');
    const got = await r.read();
    assert.deepEqual(keys(got), [3]);
    assert.equal(got[0]!.severity, 'info', 'category from description.eventInfo');
    assert.deepEqual(keys(await r.read()), []);
    assert.equal(vc.count('ReadNextEvents') - before, 2, 'one ReadNextEvents per read');
    assert.equal(vc.count('CreateCollectorForEvents'), 1);
    assert.equal(vc.count('RetrievePropertiesEx'), 1, 'eventInfo read once per session');
  });

  it('a server that ignores the time filter (vcsim 0.24): history is still dropped, by time', async () => {
    const vc = new FakeVcenter();
    vc.honoursTime = false;
    for (let i = 0; i < 5; i++) vc.post('VmCreatedEvent', -100 + i);
    vc.post('UserLoginSessionEvent', 1);
    const r = new EventReader(vc.client(), pino({ level: 'silent' }));
    assert.deepEqual(keys(await r.read()), [6]);
  });

  it('bounded pages per read: a backlog is read on by the next reads, nothing lost or repeated', async () => {
    const vc = new FakeVcenter();
    for (let i = 0; i < 25; i++) vc.post('VmPoweredOnEvent', 1 + i);
    const r = new EventReader(vc.client(), pino({ level: 'silent' }), { pageSize: 4, maxPages: 3 });
    const first = await r.read();
    assert.equal(first.length, 12);
    assert.equal(vc.count('ReadNextEvents'), 3);
    const all = [...first, ...(await r.read()), ...(await r.read())];
    assert.deepEqual(
      keys(all),
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
  });

  it('a re-login: a new collector from the last event read; its repeat of that instant is not handed out again', async () => {
    const vc = new FakeVcenter();
    vc.post('VmPoweredOnEvent', 1);
    vc.post('VmPoweredOffEvent', 2);
    const r = new EventReader(vc.client(), pino({ level: 'silent' }));
    assert.deepEqual(keys(await r.read()), [1, 2]);
    // The session is gone (and its collector with it); events keep coming meanwhile.
    vc.session.generation = 2;
    vc.session.loginTime = at(10);
    vc.post('HostConnectionLostEvent', 5);
    assert.deepEqual(
      keys(await r.read()),
      [3],
      'the event between the sessions is read, the older ones not again',
    );
    assert.equal(vc.count('CreateCollectorForEvents'), 2);
    assert.match(
      vc.calls.filter((c) => c.method === 'CreateCollectorForEvents')[1]!.body,
      new RegExp(`<beginTime>${at(2)}</beginTime>`),
    );
  });

  it('a read cut off after a page hands out that page (the collector has moved on); a read failing at once fails', async () => {
    const vc = new FakeVcenter();
    const r = new EventReader(vc.client(), pino({ level: 'silent' }), { pageSize: 3 });
    assert.deepEqual(keys(await r.read()), []);
    for (let i = 0; i < 6; i++) vc.post('VmPoweredOnEvent', 1 + i);
    vc.readsBeforeFailure = 1;
    assert.deepEqual(keys(await r.read()), [1, 2, 3]);
    assert.deepEqual(keys(await r.read()), [4, 5, 6]);
    vc.readsBeforeFailure = 0;
    await assert.rejects(r.read(), /deadline/);
    vc.post('VmPoweredOffEvent', 10);
    assert.deepEqual(keys(await r.read()), [7]);
  });

  it('a session replaced during a read: the same read creates the new session collector and reads it', async () => {
    const vc = new FakeVcenter();
    const r = new EventReader(vc.client(), pino({ level: 'silent' }));
    assert.deepEqual(keys(await r.read()), []);
    vc.post('HostConnectionLostEvent', 3);
    vc.reloginOnNextRead = true;
    assert.deepEqual(keys(await r.read()), [1]);
    assert.equal(vc.count('CreateCollectorForEvents'), 2);
  });

  it('close destroys the collector of the live session, once; a closed reader refuses to read', async () => {
    const vc = new FakeVcenter();
    const r = new EventReader(vc.client(), pino({ level: 'silent' }));
    await r.read();
    await r.close();
    assert.equal(vc.count('DestroyCollector'), 1);
    await r.close();
    assert.equal(vc.count('DestroyCollector'), 1);
    await assert.rejects(r.read(), /closed/);
  });
});
