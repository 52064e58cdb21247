import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInventory } from '../../../src/vsphere/inventory.js';
import { cloneItem, emptyItem, setProperty, toItem } from '../../../src/vsphere/inventory-records.js';
import type { ObjectContent } from '../../../src/vsphere/property-collector.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';

const obj = (type: string, value: string, props: Record<string, string>): ObjectContent => ({
  obj: { type, value },
  props: new Map(Object.entries(props).map(([k, xml]) => [k, parseXml(xml)])),
});
const ref = (type: string, v: string): string => `<val type="${type}">${v}</val>`;
const val = (v: string): string => `<val>${v}</val>`;

test('buildInventory walks host → cluster → folders → datacenter and decodes VM/host fields', () => {
  const inv = buildInventory([
    obj('Datacenter', 'datacenter-2', { name: val('DC "west"'), parent: ref('Folder', 'group-d1') }),
    obj('Folder', 'group-h4', { parent: ref('Folder', 'group-x9') }),
    obj('Folder', 'group-x9', { parent: ref('Datacenter', 'datacenter-2') }),
    obj('ClusterComputeResource', 'domain-c7', { name: val('prod'), parent: ref('Folder', 'group-h4') }),
    obj('ComputeResource', 'domain-s9', { name: val('esx-standalone'), parent: ref('Folder', 'group-h4') }),
    obj('HostSystem', 'host-10', {
      name: val('esx01'),
      parent: ref('ClusterComputeResource', 'domain-c7'),
      'summary.hardware.numCpuCores': val('16'),
      'summary.hardware.memorySize': val('137438953472'),
      'summary.runtime.inMaintenanceMode': val('true'),
    }),
    obj('HostSystem', 'host-11', { name: val('esx02'), parent: ref('ComputeResource', 'domain-s9') }),
    obj('VirtualMachine', 'vm-1', {
      name: val('db\nprimary'),
      'summary.config.numCpu': val('4'),
      'summary.config.memorySizeMB': val('8192'),
      'summary.config.template': val('false'),
      'summary.runtime.powerState': val('poweredOff'),
      'summary.runtime.bootTime': val('2026-11-01T10:00:00Z'),
      'summary.runtime.host': ref('HostSystem', 'host-10'),
    }),
    obj('VirtualMachine', 'vm-2', { 'summary.config.numCpu': val('not-a-number') }),
  ]);
  assert.equal(inv.vms.length, 2);
  assert.equal(inv.hosts.length, 2);
  const vm = inv.vms[0]!;
  assert.equal(vm.name, 'db\nprimary');
  assert.equal(vm.numCpu, 4);
  assert.equal(vm.memoryBytes, 8 * 1024 ** 3);
  assert.equal(vm.powerState, 'poweredOff');
  assert.equal(vm.bootTime, Date.parse('2026-11-01T10:00:00Z') / 1000);
  assert.equal(vm.hostMoid, 'host-10');
  assert.deepEqual(inv.placement('host-10'), { cluster: 'prod', datacenter: 'DC "west"' });
  // A standalone host's compute resource is not a cluster.
  assert.deepEqual(inv.placement('host-11'), { cluster: '', datacenter: 'DC "west"' });
  assert.deepEqual(inv.placement(undefined), { cluster: '', datacenter: '' });
  assert.equal(inv.hostsByMoid.get('host-10')?.inMaintenanceMode, true);
  assert.equal(inv.hostsByMoid.get('host-10')?.memoryBytes, 137438953472);
  // Missing name falls back to the moid; malformed numbers are dropped, not NaN.
  assert.equal(inv.vms[1]!.name, 'vm-2');
  assert.equal(inv.vms[1]!.numCpu, undefined);
});

test('buildInventory survives a parent cycle', () => {
  const inv = buildInventory([
    obj('Folder', 'f1', { parent: ref('Folder', 'f2') }),
    obj('Folder', 'f2', { parent: ref('Folder', 'f1') }),
    obj('ClusterComputeResource', 'c1', { name: val('c'), parent: ref('Folder', 'f1') }),
    obj('HostSystem', 'h1', { name: val('h'), parent: ref('ClusterComputeResource', 'c1') }),
  ]);
  assert.deepEqual(inv.placement('h1'), { cluster: 'c', datacenter: '' });
});

test('buildInventory keeps guest tools strings, quickStats and the raw snapshot, disk and sensor values', () => {
  const snapshot = '<val><rootSnapshotList><name>s</name></rootSnapshotList></val>';
  const inv = buildInventory([
    obj('VirtualMachine', 'vm-1', {
      name: val('a'),
      'guest.toolsRunningStatus': val('guestToolsRunning'),
      'guest.toolsVersionStatus2': val('guestToolsCurrent'),
      'guest.toolsVersion': val('12352'),
      'guest.disk': '<val><GuestDiskInfo><diskPath>/</diskPath></GuestDiskInfo></val>',
      snapshot,
    }),
    obj('VirtualMachine', 'vm-2', { name: val('b') }),
    obj('HostSystem', 'host-1', {
      name: val('h'),
      'summary.quickStats.uptime': val('77229'),
      'summary.quickStats.overallMemoryUsage': val('1404'),
      'runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo':
        '<val><HostNumericSensorInfo><name>Fan 1</name><sensorType>fan</sensorType></HostNumericSensorInfo>' +
        '<HostNumericSensorInfo><name>esx-base</name><sensorType>Software Components</sensorType></HostNumericSensorInfo></val>',
    }),
  ]);
  const [a, b] = inv.vms;
  assert.equal(a!.toolsRunningStatus, 'guestToolsRunning');
  assert.equal(a!.toolsVersionStatus, 'guestToolsCurrent');
  assert.equal(a!.toolsVersion, '12352');
  assert.equal(a!.snapshot?.children[0]?.name, 'rootSnapshotList');
  assert.equal(a!.guestDisks?.children.length, 1);
  assert.equal(b!.snapshot, undefined);
  assert.equal(b!.toolsRunningStatus, undefined);
  const h = inv.hosts[0]!;
  assert.equal(h.uptimeSeconds, 77229);
  assert.equal(h.memoryUsageBytes, 1404 * 1024 * 1024);
  assert.equal(h.sensors?.length, 1, 'decoded when the inventory is read');
});

test('records: an incremental change rewrites one field of a copy, and a removed property falls back', () => {
  const host = toItem(
    'HostSystem',
    'host-1',
    new Map([
      ['name', parseXml(val('esx01'))],
      ['summary.quickStats.uptime', parseXml(val('100'))],
      [
        'runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo',
        parseXml(
          '<val><HostNumericSensorInfo><name>Fan 1</name><sensorType>fan</sensorType></HostNumericSensorInfo>' +
            '<HostNumericSensorInfo><name>esx-base</name><sensorType>Software Components</sensorType></HostNumericSensorInfo></val>',
        ),
      ],
    ]),
  );
  assert.equal(host.kind, 'host');
  if (host.kind !== 'host') return;
  assert.deepEqual(
    host.host.sensors?.map((s) => s.name),
    ['Fan 1'],
    'software entries are dropped on arrival',
  );
  const next = cloneItem(host);
  setProperty(next, 'summary.quickStats.uptime', parseXml(val('120')));
  setProperty(next, 'name', undefined);
  setProperty(next, 'not.read.by.us', parseXml(val('x')));
  assert.equal(next.kind === 'host' && next.host.uptimeSeconds, 120);
  assert.equal(next.kind === 'host' && next.host.name, 'host-1', 'a removed name falls back to the moid');
  assert.equal(host.host.uptimeSeconds, 100, 'the record already handed out is unchanged');
  assert.equal(host.host.name, 'esx01');
  const vm = emptyItem('VirtualMachine', 'vm-9');
  assert.deepEqual(vm, { kind: 'vm', vm: { moid: 'vm-9', name: 'vm-9', template: false } });
  setProperty(vm, 'summary.config.memorySizeMB', parseXml(val('2048')));
  setProperty(vm, 'summary.runtime.host', parseXml(ref('HostSystem', 'host-1')));
  assert.equal(vm.kind === 'vm' && vm.vm.memoryBytes, 2048 * 1024 * 1024);
  assert.equal(vm.kind === 'vm' && vm.vm.hostMoid, 'host-1');
});

test("a host's NTP servers: counted from its NtpConfig, 0 when the config lists none, unknown without one", () => {
  const ntp = (xml: string | undefined): number | undefined => {
    const props = new Map(xml === undefined ? [] : [['config.dateTimeInfo.ntpConfig', parseXml(xml)]]);
    const it = toItem('HostSystem', 'host-1', props);
    return it.kind === 'host' ? it.host.ntpServers : -1;
  };
  const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
  assert.equal(
    ntp(
      `<val ${XSI} xsi:type="HostNtpConfig"><server>0.pool.ntp.org</server><server>10.0.0.1</server><configFile>tinker panic 0</configFile></val>`,
    ),
    2,
  );
  // vCenter leaves an empty server list out: the config alone says there is none.
  assert.equal(ntp(`<val ${XSI} xsi:type="HostNtpConfig"></val>`), 0);
  assert.equal(ntp(undefined), undefined);
});
