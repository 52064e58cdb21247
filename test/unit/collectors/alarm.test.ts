import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALARM_PROPERTIES, alarmCollector } from '../../../src/collectors/alarm.js';
import type { ObjectFilter } from '../../../src/collectors/collector.js';
import { MANAGED_ENTITY_TYPES } from '../../../src/collectors/entity-types.js';
import type { ObjectContent } from '../../../src/vsphere/property-collector.js';
import { child, parseXml } from '../../../src/vsphere/soap/xml.js';
import { collectSamples, contextOf, inventoryOf, obj, ref, val } from '../../harness/model-fixture.js';
import { find, type Sample } from '../../harness/prom-text.js';

// Every non-VM entity as vCenter 8 answers {name, parent, overallStatus, triggeredAlarmState}.
const FIXTURE = readFileSync(
  new URL('../../fixtures/alarm-retrieve-properties.xml', import.meta.url),
  'utf8',
);

/** The fixture's objects, as the property collector hands them to the model. */
function fixtureObjects(): ObjectContent[] {
  const answer = child(child(parseXml(FIXTURE), 'Body')!, 'RetrievePropertiesExResponse')!;
  return child(answer, 'returnval')!
    .children.filter((c) => c.name === 'objects')
    .map((o) => {
      const ref = child(o, 'obj')!;
      const props = o.children
        .filter((c) => c.name === 'propSet')
        .map((p) => [child(p, 'name')!.text, child(p, 'val')!] as const);
      return { obj: { type: ref.attrs.type!, value: ref.text }, props: new Map(props) };
    });
}

const vm = (moid: string, name: string, status: string): ObjectContent =>
  obj('VirtualMachine', moid, [
    ['name', val(name)],
    ['parent', ref('Folder', 'group-v3')],
    ['overallStatus', val(status)],
  ]);

const INVENTORY = inventoryOf(
  [
    ...fixtureObjects(),
    vm('vm-57', 'db-01', 'yellow'),
    vm('vm-58', 'secret-vm', 'red'),
    vm('vm-59', 'web-01', 'purple'),
  ],
  // alarm-9 and alarm-66 were deleted before the model read their names.
  {
    alarmNames: new Map([
      ['alarm-7', 'Host connection state'],
      ['alarm-3', 'VM CPU usage'],
      ['alarm-9', ''],
    ]),
  },
);

const collect = (filter?: ObjectFilter): Promise<Sample[]> =>
  collectSamples(alarmCollector, contextOf(INVENTORY, filter));

const hidesSecretVm: ObjectFilter = { allows: (kind, s) => !(kind === 'vm' && s.name === 'secret-vm') };

test('triggered alarms: one series per alarm on its own entity, not on the ancestors it propagates to', async () => {
  const samples = await collect(hidesSecretVm);
  const triggered = find(samples, 'vsphere_alarm_triggered');
  const alarm = (
    type: string,
    entity: string,
    moid: string,
    name: string,
    alarmMoid: string,
    status: string,
  ) => ({
    entity_type: type,
    entity,
    entity_moid: moid,
    alarm: name,
    alarm_moid: alarmMoid,
    status,
  });
  assert.deepEqual(
    triggered.map((s) => s.labels).sort((a, b) => a.entity_moid!.localeCompare(b.entity_moid!)),
    [
      // Its Alarm object is gone: kept, with an empty name.
      alarm('Datastore', 'vsan-ds', 'datastore-11', '', 'alarm-9', 'yellow'),
      // The entry without an <alarm> is malformed and skipped.
      alarm('HostSystem', 'esx01.lab', 'host-21', 'Host connection state', 'alarm-7', 'red'),
      // A VM's alarm, found in its ancestors' (propagated) triggeredAlarmState, listed twice there.
      alarm('VirtualMachine', 'db-01', 'vm-57', 'VM CPU usage', 'alarm-3', 'yellow'),
    ],
  );
  assert.ok(triggered.every((s) => s.value === 1));
  const ts = (moid: string): number[] =>
    find(samples, 'vsphere_alarm_triggered_timestamp_seconds', { entity_moid: moid }).map((s) => s.value);
  assert.deepEqual(ts('host-21'), [Date.parse('2026-11-20T08:15:42.123Z') / 1000]);
  assert.deepEqual(ts('vm-57'), [Date.parse('2026-11-21T10:00:00Z') / 1000]);
  const ack = (moid: string): number[] =>
    find(samples, 'vsphere_alarm_acknowledged', { entity_moid: moid }).map((s) => s.value);
  assert.deepEqual(ack('host-21'), [0]);
  assert.deepEqual(ack('vm-57'), [1]);
  // No acknowledged element: no sample rather than a guessed 0.
  assert.deepEqual(ack('datastore-11'), []);
});

test('overall status is one number per entity; unknown values and filtered objects produce nothing', async () => {
  const samples = await collect(hidesSecretVm);
  const status = new Map(
    find(samples, 'vsphere_entity_overall_status').map((s) => [s.labels.entity_moid, s.value]),
  );
  assert.deepEqual([...status].sort(), [
    ['datacenter-2', 3],
    ['datastore-11', 2],
    ['domain-c7', 3],
    ['group-h4', 3],
    ['group-v3', 0],
    ['host-21', 3],
    ['vm-57', 2],
  ]);
  assert.equal(
    find(samples, 'vsphere_entity_overall_status', { entity_moid: 'vm-57' })[0]?.labels.entity_type,
    'VirtualMachine',
  );
  // secret-vm is filtered out: no status, no alarm.
  assert.equal(samples.filter((s) => s.labels.entity_moid === 'vm-58').length, 0);
  // Without the filter its alarm (name deleted: "") is there.
  const all = await collect();
  assert.deepEqual(
    find(all, 'vsphere_alarm_triggered', { entity_moid: 'vm-58' }).map((s) => [
      s.labels.alarm,
      s.labels.alarm_moid,
    ]),
    [['', 'alarm-66']],
  );
});

test('the filter sees each entity by its collector kind, name and inventory path', async () => {
  const seen: string[] = [];
  await collect({
    allows: (kind, s) => {
      seen.push(`${kind} ${s.name} ${s.path ?? '-'}`);
      return true;
    },
  });
  // VMs and hosts are asked once by the scraper's filterInventory and once by the collector.
  assert.deepEqual([...new Set(seen)].sort(), [
    'cluster prod /DC-west/host/prod',
    'datacenter DC-west /DC-west',
    // Its parent folder is not in the model: the path is unknown rather than wrong.
    'datastore vsan-ds -',
    'host esx01.lab /DC-west/host/prod/esx01.lab',
    'vm db-01 /DC-west/vm/db-01',
    'vm secret-vm /DC-west/vm/secret-vm',
    'vm web-01 /DC-west/vm/web-01',
  ]);
});

test('hostile keys: alarm moids, entity moids and statuses named like Object.prototype members are plain data', async () => {
  const state = (entity: string, alarm: string, status: string): string =>
    `<AlarmState><key>k</key><entity type="Datastore">${entity}</entity><alarm type="Alarm">${alarm}</alarm>` +
    `<overallStatus>${status}</overallStatus><acknowledged>true</acknowledged></AlarmState>`;
  const inv = inventoryOf(
    [
      obj('Datastore', 'constructor', [
        ['name', val('__proto__')],
        ['parent', ref('Folder', 'group-d1')],
        ['overallStatus', val('constructor')],
        [
          'triggeredAlarmState',
          val(
            state('constructor', '__proto__', 'red') + state('constructor', 'toString', 'yellow'),
            'ArrayOfAlarmState',
          ),
        ],
      ]),
      obj('Datastore', '__proto__', [
        ['name', val('hasOwnProperty')],
        ['overallStatus', val('__proto__')],
      ]),
    ],
    { alarmNames: new Map([['__proto__', 'proto alarm']]) },
  );
  const samples = await collectSamples(alarmCollector, contextOf(inv));
  assert.deepEqual(
    find(samples, 'vsphere_alarm_triggered').map((s) => [
      s.labels.entity,
      s.labels.alarm,
      s.labels.alarm_moid,
    ]),
    [
      ['__proto__', 'proto alarm', '__proto__'],
      // Not a name of Object.prototype's: no name read for it, so "".
      ['__proto__', '', 'toString'],
    ],
  );
  assert.deepEqual(
    find(samples, 'vsphere_alarm_acknowledged').map((s) => s.value),
    [1, 1],
  );
  // Statuses other than gray/green/yellow/red are not looked up on an object's prototype.
  assert.deepEqual(find(samples, 'vsphere_entity_overall_status'), []);
});

test('the collector declares what it reads: status and alarms of every entity type but VMs, VM status', () => {
  const byType = new Map(ALARM_PROPERTIES.map((s) => [s.type, [...s.pathSet].sort()]));
  for (const type of MANAGED_ENTITY_TYPES) {
    const want =
      type === 'VirtualMachine'
        ? ['name', 'overallStatus', 'parent']
        : ['name', 'overallStatus', 'parent', 'triggeredAlarmState'];
    assert.deepEqual(byType.get(type), want, type);
  }
  assert.equal(byType.size, MANAGED_ENTITY_TYPES.length);
});

test('the same snapshot collected again gives the same series; another filter over it is applied, not the first one remembered', async () => {
  const open = await collect();
  assert.deepEqual(await collect(), open);
  const filtered = await collect(hidesSecretVm);
  assert.ok(open.some((s) => s.labels.entity_moid === 'vm-58'));
  assert.ok(!filtered.some((s) => s.labels.entity_moid === 'vm-58'));
  assert.deepEqual(await collect(), open);
});
