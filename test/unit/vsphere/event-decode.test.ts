import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEvent, decodeEventCategories } from '../../../src/vsphere/event-decode.js';
import { child, parseXml, type XmlNode } from '../../../src/vsphere/soap/xml.js';

/** The returnval elements of a ReadNextEvents answer, parsed by the exporter's own parser. */
function returnvals(body: string, prefix = 'xsi'): XmlNode[] {
  const xml =
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    `xmlns:${prefix}="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>` +
    `<ReadNextEventsResponse xmlns="urn:vim25">${body}</ReadNextEventsResponse></soapenv:Body></soapenv:Envelope>`;
  return child(child(parseXml(xml), 'Body')!, 'ReadNextEventsResponse')!.children;
}

const CATEGORIES = new Map([
  ['VmPoweredOnEvent', 'info'],
  ['HostConnectionLostEvent', 'error'],
  ['com.vmware.vc.ExtendedThing', 'warning'],
]);

describe('decodeEvent', () => {
  it('a typed event: xsi:type, the most specific entity (its reference type), category from eventInfo', () => {
    const [e] = returnvals(
      '<returnval xsi:type="VmPoweredOnEvent"><key>42</key><chainId>41</chainId>' +
        '<createdTime>2026-12-06T18:39:25.608365474Z</createdTime><userName>u</userName>' +
        '<datacenter><name>DC0</name><datacenter type="Datacenter">datacenter-2</datacenter></datacenter>' +
        '<computeResource><name>C0</name><computeResource type="ClusterComputeResource">domain-c1</computeResource></computeResource>' +
        '<host><name>H0</name><host type="HostSystem">host-21</host></host>' +
        '<vm><name>VM0</name><vm type="VirtualMachine">vm-60</vm></vm>' +
        '<fullFormattedMessage>VM0 on H0 is powered on</fullFormattedMessage></returnval>',
    );
    const d = decodeEvent(e!, CATEGORIES);
    assert.deepEqual(d, {
      key: 42,
      type: 'VmPoweredOnEvent',
      entityType: 'VirtualMachine',
      severity: 'info',
      createdSeconds: Date.parse('2026-12-06T18:39:25.608Z') / 1000,
      createdTime: '2026-12-06T18:39:25.608365474Z',
    });
  });

  it('vcsim 0.24 spells the xsi prefix XMLSchema-instance: the same type is read', () => {
    const [e] = returnvals(
      '<returnval XMLSchema-instance:type="HostConnectionLostEvent"><key>7</key><createdTime>2026-01-01T00:00:00Z</createdTime>' +
        '<computeResource><name>C0</name><computeResource type="ClusterComputeResource">domain-c1</computeResource></computeResource>' +
        '<host><name>H0</name><host type="HostSystem">host-1</host></host></returnval>',
      'XMLSchema-instance',
    );
    const d = decodeEvent(e!, CATEGORIES)!;
    assert.equal(d.type, 'HostConnectionLostEvent');
    assert.equal(d.entityType, 'HostSystem');
    assert.equal(d.severity, 'error');
  });

  it('EventEx: eventTypeId, objectType and its own severity (absent means info)', () => {
    const [a, b] = returnvals(
      '<returnval xsi:type="EventEx"><key>1</key><createdTime>2026-01-01T00:00:00Z</createdTime>' +
        '<eventTypeId>com.vmware.vc.ha.VmRestartedByHAEvent</eventTypeId><severity>warning</severity>' +
        '<objectId>vm-9</objectId><objectType>VirtualMachine</objectType></returnval>' +
        '<returnval xsi:type="EventEx"><key>2</key><createdTime>2026-01-01T00:00:01Z</createdTime>' +
        '<eventTypeId>com.vmware.sso.LoginFailure</eventTypeId></returnval>',
    );
    assert.deepEqual(
      [decodeEvent(a!, CATEGORIES), decodeEvent(b!, CATEGORIES)].map((d) => [
        d?.type,
        d?.entityType,
        d?.severity,
      ]),
      [
        ['com.vmware.vc.ha.VmRestartedByHAEvent', 'VirtualMachine', 'warning'],
        ['com.vmware.sso.LoginFailure', '', 'info'],
      ],
    );
  });

  it('ExtendedEvent: eventTypeId, managedObject type, category of its id', () => {
    const [e] = returnvals(
      '<returnval xsi:type="ExtendedEvent"><key>3</key><createdTime>2026-01-01T00:00:00Z</createdTime>' +
        '<eventTypeId>com.vmware.vc.ExtendedThing</eventTypeId><managedObject type="Datastore">datastore-1</managedObject></returnval>',
    );
    const d = decodeEvent(e!, CATEGORIES)!;
    assert.deepEqual(
      [d.type, d.entityType, d.severity],
      ['com.vmware.vc.ExtendedThing', 'Datastore', 'warning'],
    );
  });

  it('an event without a key or a valid createdTime is skipped; an unknown type has no severity', () => {
    const [noKey, badTime, unknown] = returnvals(
      '<returnval xsi:type="VmPoweredOnEvent"><createdTime>2026-01-01T00:00:00Z</createdTime></returnval>' +
        '<returnval xsi:type="VmPoweredOnEvent"><key>5</key><createdTime>yesterday</createdTime></returnval>' +
        '<returnval xsi:type="FrobnicatedEvent"><key>6</key><createdTime>2026-01-01T00:00:00Z</createdTime></returnval>',
    );
    assert.equal(decodeEvent(noKey!, CATEGORIES), undefined);
    assert.equal(decodeEvent(badTime!, CATEGORIES), undefined);
    assert.deepEqual(
      [decodeEvent(unknown!, CATEGORIES)?.severity, decodeEvent(unknown!, CATEGORIES)?.entityType],
      ['', ''],
    );
  });

  it('a huge eventTypeId is cut, not kept whole', () => {
    const [e] = returnvals(
      '<returnval xsi:type="EventEx"><key>1</key><createdTime>2026-01-01T00:00:00Z</createdTime>' +
        `<eventTypeId>${'x'.repeat(100_000)}</eventTypeId></returnval>`,
    );
    assert.equal(decodeEvent(e!, CATEGORIES)!.type.length, 256);
  });
});

describe('decodeEventCategories', () => {
  it('maps each key to its category in a Map (the first of a repeated key wins; __proto__ is just a key)', () => {
    const val = parseXml(
      '<val><EventDescriptionEventDetail><key>VmPoweredOnEvent</key><category>info</category></EventDescriptionEventDetail>' +
        '<EventDescriptionEventDetail><key>VmPoweredOnEvent</key><category>error</category></EventDescriptionEventDetail>' +
        '<EventDescriptionEventDetail><key>__proto__</key><category>warning</category></EventDescriptionEventDetail>' +
        '<EventDescriptionEventDetail><key>NoCategory</key></EventDescriptionEventDetail></val>',
    );
    const m = decodeEventCategories(val);
    assert.deepEqual(
      [...m],
      [
        ['VmPoweredOnEvent', 'info'],
        ['__proto__', 'warning'],
      ],
    );
  });
});
