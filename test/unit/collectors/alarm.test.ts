import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { alarmCollector } from '../../../src/collectors/alarm.js';
import type { CollectContext, ObjectFilter } from '../../../src/collectors/collector.js';
import { encodeFamilies, type MetricFamily } from '../../../src/exposition/index.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import type { MoRef } from '../../../src/vsphere/soap/envelope.js';
import { VsphereError, type VsphereErrorCode } from '../../../src/vsphere/soap/errors.js';
import { child, SoapXmlParser, type StreamSpec, type XmlNode } from '../../../src/vsphere/soap/xml.js';
import { find, parsePrometheusText, type Sample } from '../../harness/prom-text.js';

const FIXTURE = readFileSync(
  new URL('../../fixtures/alarm-retrieve-properties.xml', import.meta.url),
  'utf8',
);
const ALARM_NAMES: Record<string, string> = { 'alarm-7': 'Host connection state', 'alarm-3': 'VM CPU usage' };

const envelope = (body: string): string =>
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
  `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

/** The Body's first element, parsed by the real streaming parser in small chunks as the transport does. */
function answer(xml: string, stream?: StreamSpec): XmlNode {
  const p = new SoapXmlParser(stream);
  for (let i = 0; i < xml.length; i += 97) p.write(Buffer.from(xml.slice(i, i + 97)));
  const body = child(p.close(), 'Body');
  return body!.children[0]!;
}

/** A VimClient that answers from the fixture (the ManagedEntity view) and a table of alarm names. */
function fakeClient(
  calls: string[],
  missing: VsphereErrorCode = 'VSPHERE_MANAGED_OBJECT_NOT_FOUND',
): VimClient {
  const content = {
    rootFolder: { type: 'Folder', value: 'group-d1' },
    propertyCollector: { type: 'PropertyCollector', value: 'propertyCollector' },
    viewManager: { type: 'ViewManager', value: 'ViewManager' },
  };
  const client = {
    session: { generation: 1 },
    logger: pino({ level: 'silent' }),
    content: () => Promise.resolve(content),
    invoke: (method: string, _self: MoRef, body: string, _signal?: AbortSignal, stream?: StreamSpec) => {
      calls.push(
        method === 'RetrievePropertiesEx' ? `${method} ${/<type>(\w+)<\/type>/.exec(body)?.[1]}` : method,
      );
      if (method === 'CreateContainerView') {
        // VMs come from the inventory, not from this view.
        assert.match(body, /<type>HostSystem<\/type>/);
        assert.doesNotMatch(body, /VirtualMachine|ManagedEntity/);
        return Promise.resolve(
          answer(
            envelope(
              '<CreateContainerViewResponse xmlns="urn:vim25"><returnval type="ContainerView">session[1]v</returnval></CreateContainerViewResponse>',
            ),
          ),
        );
      }
      if (method === 'DestroyView') return Promise.resolve(answer(envelope('<DestroyViewResponse/>')));
      if (method === 'RetrievePropertiesEx' && body.includes('ContainerView')) {
        return Promise.resolve(answer(FIXTURE, stream));
      }
      const alarm = /<obj type="Alarm">([^<]+)<\/obj>/.exec(body)?.[1];
      const name = alarm === undefined ? undefined : ALARM_NAMES[alarm];
      if (name === undefined) {
        // An alarm deleted between the two reads.
        return Promise.reject(new VsphereError(missing, 'The object has already been deleted'));
      }
      return Promise.resolve(
        answer(
          envelope(
            '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects>' +
              `<obj type="Alarm">${alarm}</obj><propSet><name>info.name</name>` +
              `<val xsi:type="xsd:string">${name}</val></propSet></objects></returnval></RetrievePropertiesExResponse>`,
          ),
        ),
      );
    },
  };
  return client as unknown as VimClient;
}

async function collect(
  filter: ObjectFilter,
  missing?: VsphereErrorCode,
): Promise<{ samples: Sample[]; calls: string[] }> {
  const calls: string[] = [];
  const families: MetricFamily[] = [];
  const ctx = {
    client: fakeClient(calls, missing),
    filter,
    inventory: {
      vms: [
        { moid: 'vm-57', name: 'db-01', overallStatus: 'yellow' },
        { moid: 'vm-58', name: 'secret-vm', overallStatus: 'red' },
        { moid: 'vm-59', name: 'web-01', overallStatus: 'purple' },
      ],
      path: (moid: string) =>
        ({ 'vm-57': '/DC-west/vm/db-01', 'vm-58': '/DC-west/vm/secret-vm', 'vm-59': '/DC-west/vm/web-01' })[
          moid
        ],
    },
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
  } as unknown as CollectContext;
  await alarmCollector.collect(ctx, (f) => families.push(f));
  return { samples: parsePrometheusText(encodeFamilies(families).toString()).samples, calls };
}

const hidesSecretVm: ObjectFilter = { allows: (kind, s) => !(kind === 'vm' && s.name === 'secret-vm') };

test('triggered alarms: one series per alarm on its own entity, not on the ancestors it propagates to', async () => {
  const { samples } = await collect(hidesSecretVm);
  const triggered = find(samples, 'vsphere_alarm_triggered');
  assert.deepEqual(
    triggered.map((s) => s.labels),
    [
      {
        entity_type: 'HostSystem',
        entity: 'esx01.lab',
        entity_moid: 'host-21',
        alarm: 'Host connection state',
        alarm_moid: 'alarm-7',
        status: 'red',
      },
      // Its Alarm object is gone: kept, with an empty name.
      {
        entity_type: 'Datastore',
        entity: 'vsan-ds',
        entity_moid: 'datastore-11',
        alarm: '',
        alarm_moid: 'alarm-9',
        status: 'yellow',
      },
      // A VM's alarm, found in its ancestors' (propagated) triggeredAlarmState.
      {
        entity_type: 'VirtualMachine',
        entity: 'db-01',
        entity_moid: 'vm-57',
        alarm: 'VM CPU usage',
        alarm_moid: 'alarm-3',
        status: 'yellow',
      },
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
  const { samples } = await collect(hidesSecretVm);
  const status: Record<string, number> = {};
  for (const s of find(samples, 'vsphere_entity_overall_status'))
    status[s.labels.entity_moid ?? ''] = s.value;
  assert.deepEqual(status, {
    'datacenter-2': 3,
    'group-h4': 3,
    'domain-c7': 3,
    'host-21': 3,
    'vm-57': 2,
    'group-v3': 0,
    'datastore-11': 2,
  });
  assert.equal(
    find(samples, 'vsphere_entity_overall_status', { entity_moid: 'vm-57' })[0]?.labels.entity_type,
    'VirtualMachine',
  );
  // secret-vm is filtered out: no status, no alarm, and its alarm's name is never asked for.
  assert.equal(samples.filter((s) => s.labels.entity_moid === 'vm-58').length, 0);
});

test('one view read, one name read per distinct triggered alarm of allowed entities, view destroyed', async () => {
  const { calls } = await collect(hidesSecretVm);
  assert.deepEqual(
    calls.filter((c) => c !== 'RetrievePropertiesEx Alarm'),
    ['CreateContainerView', 'RetrievePropertiesEx Folder', 'DestroyView'],
  );
  assert.equal(calls.filter((c) => c === 'RetrievePropertiesEx Alarm').length, 3);
  const all = await collect({ allows: () => true });
  assert.equal(all.calls.filter((c) => c === 'RetrievePropertiesEx Alarm').length, 4);
  assert.equal(
    find(all.samples, 'vsphere_alarm_triggered', { entity_moid: 'vm-58', alarm_moid: 'alarm-66' }).length,
    1,
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
  assert.deepEqual(seen.sort(), [
    'cluster prod /DC-west/host/prod',
    'datacenter DC-west /DC-west',
    // Its parent folder is not in the answer: the path is unknown rather than wrong.
    'datastore vsan-ds -',
    'host esx01.lab /DC-west/host/prod/esx01.lab',
    'vm db-01 /DC-west/vm/db-01',
    'vm secret-vm /DC-west/vm/secret-vm',
    'vm web-01 /DC-west/vm/web-01',
  ]);
});

test('a failure other than a vanished alarm fails the collector instead of blanking names', async () => {
  await assert.rejects(collect({ allows: () => true }, 'VSPHERE_CONNECTION'), { code: 'VSPHERE_CONNECTION' });
});
