import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmNames, triggeredAlarmMoids } from '../../../src/vsphere/alarm-names.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import { toItem } from '../../../src/vsphere/inventory-records.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import { silentLogger } from '../../../src/log/logger.js';

// A client answering RetrievePropertiesEx of Alarm.info.name from `names` (absent: ManagedObjectNotFound);
// an alarm in `stall` is answered never: its read ends only when its signal fires.
function fakeClient(names: Map<string, string>, stall = new Set<string>()) {
  const session = { generation: 1 };
  const asked: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    session,
    content: () => Promise.resolve({ propertyCollector: { type: 'PropertyCollector', value: 'pc' } }),
    async invoke(method: string, _self: unknown, body: string, signal?: AbortSignal) {
      assert.equal(method, 'RetrievePropertiesEx');
      const moid = /<obj type="Alarm">([^<]+)<\/obj>/.exec(body)![1]!;
      asked.push(moid);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        if (stall.has(moid)) {
          assert.ok(signal, 'a read that may stall has a signal');
          await new Promise((_, reject) =>
            signal.addEventListener('abort', () => reject(new VsphereError('VSPHERE_ABORTED', 'cut')), {
              once: true,
            }),
          );
        }
        await new Promise((r) => setTimeout(r, 2));
      } finally {
        inFlight--;
      }
      const name = names.get(moid);
      if (name === undefined) throw new VsphereError('VSPHERE_MANAGED_OBJECT_NOT_FOUND', 'gone');
      return parseXml(
        `<RetrievePropertiesExResponse><returnval><objects><obj type="Alarm">${moid}</obj>` +
          `<propSet><name>info.name</name><val>${name}</val></propSet></objects></returnval></RetrievePropertiesExResponse>`,
      );
    },
  };
  return { client: client as unknown as VimClient, session, asked, maxInFlight: () => maxInFlight };
}

const states = (...alarms: string[]) =>
  parseXml(
    `<val>${alarms
      .map(
        (a) =>
          `<AlarmState><key>${a}.e</key><entity type="HostSystem">host-1</entity><alarm type="Alarm">${a}</alarm><overallStatus>red</overallStatus></AlarmState>`,
      )
      .join('')}</val>`,
  );

test('triggeredAlarmMoids: alarms of any record, VMs and hosts (extra) and other objects (props)', () => {
  const key = 'triggeredAlarmState';
  const moids = triggeredAlarmMoids([
    toItem('HostSystem', 'host-1', new Map([[key, states('alarm-1', 'alarm-2')]])),
    toItem('VirtualMachine', 'vm-1', new Map([[key, states('alarm-3')]])),
    toItem('Datastore', 'ds-1', new Map([[key, states('alarm-1')]])),
    toItem('Folder', 'group-1', new Map()),
  ]);
  assert.deepEqual([...moids].sort(), ['alarm-1', 'alarm-2', 'alarm-3']);
});

test('AlarmNames: each alarm read once per session, bounded fan-out; a deleted one is "" and retried only after a while', async () => {
  const names = new Map(Array.from({ length: 20 }, (_, i) => [`alarm-${i}`, `Alarm ${i}`]));
  const f = fakeClient(names);
  let now = 0;
  const an = new AlarmNames(f.client, silentLogger(), { retryMs: 60_000, now: () => now });
  const wanted = [...names.keys(), 'alarm-gone'];
  const first = await an.resolve(wanted);
  assert.equal(first.get('alarm-3'), 'Alarm 3');
  assert.equal(first.get('alarm-gone'), '');
  assert.equal(f.asked.length, 21);
  assert.ok(f.maxInFlight() <= 8, `at most 8 at once (${f.maxInFlight()})`);
  // Steady state: nothing to read, and the same map is handed out.
  assert.equal(await an.resolve(wanted), first);
  assert.equal(f.asked.length, 21);
  // The deleted alarm is asked again only after the retry interval.
  now = 61_000;
  names.set('alarm-gone', 'Back again');
  const later = await an.resolve(wanted);
  assert.equal(f.asked.length, 22);
  assert.equal(later.get('alarm-gone'), 'Back again');
  assert.equal(first.get('alarm-gone'), '', 'a map already handed out is not changed');
  // A new session forgets them all.
  f.session.generation = 2;
  await an.resolve(['alarm-1']);
  assert.equal(f.asked.length, 23);
  assert.deepEqual([...an.current.keys()], ['alarm-1']);
});

test('AlarmNames: an aborted read stores nothing, so the next one asks again', async () => {
  const f = fakeClient(new Map([['alarm-1', 'A']]));
  const an = new AlarmNames(f.client, silentLogger());
  const ac = new AbortController();
  ac.abort();
  const names = await an.resolve(['alarm-1'], ac.signal);
  assert.equal(names.size, 0);
  assert.equal((await an.resolve(['alarm-1'])).get('alarm-1'), 'A');
});

test('AlarmNames: a read vCenter never answers ends at its own limit; the others are named, and it is asked again only after a while', async () => {
  const names = new Map(Array.from({ length: 4 }, (_, i) => [`alarm-${i}`, `Alarm ${i}`]));
  const f = fakeClient(names, new Set(['alarm-1']));
  const an = new AlarmNames(f.client, silentLogger(), { readMs: 50, stepMs: 60_000 });
  const t0 = performance.now();
  const got = await an.resolve(names.keys());
  assert.ok(performance.now() - t0 < 30_000, 'not held to the step limit');
  assert.equal(got.get('alarm-1'), '');
  assert.deepEqual(
    [0, 2, 3].map((i) => got.get(`alarm-${i}`)),
    ['Alarm 0', 'Alarm 2', 'Alarm 3'],
  );
  await an.resolve(names.keys());
  assert.equal(f.asked.length, 4, 'the stalled one waits for its retry');
});

test('AlarmNames: all reads stalled end with the step; none is stored, so the next collection asks them again', async () => {
  const names = new Map(Array.from({ length: 20 }, (_, i) => [`alarm-${i}`, `Alarm ${i}`]));
  const stall = new Set(names.keys());
  const f = fakeClient(names, stall);
  const an = new AlarmNames(f.client, silentLogger(), { readMs: 600_000, stepMs: 50 });
  const first = await an.resolve(names.keys());
  assert.equal(first.size, 0);
  assert.equal(f.asked.length, 8, 'the step ended the 8 in flight and started no more');
  stall.clear();
  const next = await an.resolve(names.keys());
  assert.equal(next.size, 20);
  assert.equal(next.get('alarm-7'), 'Alarm 7');
});
