import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmNames, triggeredAlarmMoids } from '../../../src/vsphere/alarm-names.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import { toItem } from '../../../src/vsphere/inventory-records.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';
import { silentLogger } from '../../../src/log/logger.js';

// A client answering RetrievePropertiesEx of Alarm.info.name from `names` (absent: ManagedObjectNotFound).
function fakeClient(names: Map<string, string>) {
  const session = { generation: 1 };
  const asked: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    session,
    content: () => Promise.resolve({ propertyCollector: { type: 'PropertyCollector', value: 'pc' } }),
    async invoke(method: string, _self: unknown, body: string) {
      assert.equal(method, 'RetrievePropertiesEx');
      const moid = /<obj type="Alarm">([^<]+)<\/obj>/.exec(body)![1]!;
      asked.push(moid);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
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
  const an = new AlarmNames(f.client, silentLogger(), 60_000, () => now);
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
