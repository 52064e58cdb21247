/**
 * The inventory model against vcsim: one filter built from the collectors' properties, read in full
 * (fetchInventory) or kept by WaitForUpdatesEx (InventoryWatch), with singletons, extra VM/host
 * properties and alarm names; a steady state that sends nothing but WaitForUpdatesEx.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Secret } from '../../src/config/secret.js';
import { silentLogger } from '../../src/log/logger.js';
import { allCollectorProperties } from '../../src/collectors/registry.js';
import { AlarmNames } from '../../src/vsphere/alarm-names.js';
import { VimClient } from '../../src/vsphere/client.js';
import { fetchInventory, type Inventory } from '../../src/vsphere/inventory.js';
import { inventorySpecs } from '../../src/vsphere/inventory-specs.js';
import { InventoryWatch } from '../../src/vsphere/inventory-watch.js';
import type { PropertySpec } from '../../src/vsphere/property-collector.js';
import { Session } from '../../src/vsphere/session.js';
import { SoapTransport } from '../../src/vsphere/soap/transport.js';
import { child, type XmlNode } from '../../src/vsphere/soap/xml.js';
import { LARGE_MODEL, rawLogin, startVcsim, type Vcsim } from '../harness/vcsim.js';
import { RawVimClient, refXml } from '../harness/vim-soap.js';
import { startVcsim8, vcsim8SkipReason, type Vcsim8 } from '../harness/vcsim8.js';
import { waitTask } from '../harness/vim-tasks.js';

// What the converted collectors declare (cluster, datastore, resource_pool, alarm, custom attributes).
const ENTITY_PATHS = ['overallStatus', 'triggeredAlarmState'];
const COLLECTOR_SPECS: PropertySpec[] = [
  { type: 'ClusterComputeResource', pathSet: ['summary.numHosts', ...ENTITY_PATHS] },
  { type: 'Datastore', pathSet: ['name', 'parent', 'summary.capacity', ...ENTITY_PATHS] },
  { type: 'StoragePod', pathSet: ['name', 'parent', ...ENTITY_PATHS] },
  { type: 'ResourcePool', pathSet: ['name', 'parent', 'summary.config.cpuAllocation.reservation'] },
  { type: 'VirtualApp', pathSet: ['name', 'parent'] },
  { type: 'HostSystem', pathSet: ENTITY_PATHS },
  { type: 'ManagedEntity', pathSet: ['customValue'] },
  { type: 'CustomFieldsManager', pathSet: ['field'] },
];

interface Conn {
  client: VimClient;
  calls: Map<string, number>;
  close(): Promise<void>;
}

function connect(vc: Pick<Vcsim, 'url' | 'user' | 'password'>): Conn {
  const logger = silentLogger();
  const calls = new Map<string, number>();
  const transport = new SoapTransport({
    url: new URL(vc.url),
    maxConnections: 4,
    connectTimeoutMs: 5000,
    requestTimeoutMs: 20_000,
    maxResponseBytes: 64 * 1024 * 1024,
    insecureSkipVerify: false,
    onCall: (method) => void calls.set(method, (calls.get(method) ?? 0) + 1),
  });
  const session = new Session(transport, {
    user: vc.user,
    password: { read: () => Promise.resolve(new Secret(vc.password)) },
    keepaliveIntervalMs: 0,
    logger,
  });
  return { client: new VimClient(transport, session, logger), calls, close: () => session.close() };
}

const names = (inv: Inventory, type: string): string[] =>
  inv
    .objects(type)
    .map((o) => inv.tree.get(o.obj.value)?.name ?? '?')
    .sort();

// Whether an object's customValue (ArrayOfCustomFieldValue, as the model keeps it) holds `value`.
const taskOf = (xml: string): string => /<returnval[^>]*>([^<]*)<\/returnval>/.exec(xml)![1]!;

const hasCustomValue = (props: ReadonlyMap<string, XmlNode> | undefined, value: string): boolean =>
  props?.get('customValue')?.children.some((v) => child(v, 'value')?.text === value) ?? false;

describe('inventory model (one filter over the whole inventory)', () => {
  let vc: Vcsim;
  let conn: Conn;
  let watch: InventoryWatch;
  const specs = inventorySpecs(COLLECTOR_SPECS);

  before(async () => {
    // Child pools exist from the start: vcsim 0.24's ContainerView never lists objects created later.
    vc = await startVcsim({ args: [...LARGE_MODEL, '-trigger-alarm'] });
    conn = connect(vc);
    watch = new InventoryWatch(conn.client, silentLogger(), specs);
  });
  after(async () => {
    await watch?.close();
    await conn?.close();
    await vc?.stop();
  });

  test('full and incremental reads give the same objects, singletons, extra properties, paths and alarm names', async () => {
    const signal = AbortSignal.timeout(20_000);
    const full = await fetchInventory(
      conn.client,
      specs,
      signal,
      new AlarmNames(conn.client, silentLogger()),
    );
    const incr = await watch.fetch(signal);
    for (const inv of [full, incr]) {
      assert.equal(inv.vms.length, vc.inventory.vms.length);
      assert.ok(inv.objects('Datastore').length > 0, 'datastores read');
      assert.ok(inv.objects('ResourcePool').length > 0, 'pools read');
      assert.ok(inv.objects('ClusterComputeResource')[0]!.props.has('summary.numHosts'));
      assert.ok(inv.objects('Datastore')[0]!.props.has('summary.capacity'));
      assert.ok(inv.singleton('CustomFieldsManager'), 'CustomFieldsManager read through the same filter');
      // Every VM and host has a path from the root folder (the view does not list the root).
      for (const vm of inv.vms) assert.match(inv.path(vm.moid) ?? '', /^\/DC[01]\/vm\//, vm.name);
      for (const h of inv.hosts) assert.match(inv.path(h.moid) ?? '', /^\/DC[01]\/host\//, h.name);
      const red = inv.hosts.find((h) => h.extra?.get('overallStatus')?.text === 'red');
      assert.ok(red, 'host overallStatus kept as an extra property');
      assert.equal(inv.objects('HostSystem').length, inv.hosts.length);
      assert.equal(inv.alarmNames.get('alarm-1'), 'Host connection and power state');
    }
    for (const type of ['Datastore', 'ResourcePool', 'ClusterComputeResource', 'Datacenter', 'Folder'])
      assert.deepEqual(names(incr, type), names(full, type), type);
  });

  test('steady state: only WaitForUpdatesEx, no view, no retrieval, no alarm name read', async () => {
    await watch.fetch(AbortSignal.timeout(20_000));
    const before = new Map(conn.calls);
    for (let i = 0; i < 5; i++) await watch.fetch(AbortSignal.timeout(20_000));
    const sent = new Map([...conn.calls].map(([m, n]) => [m, n - (before.get(m) ?? 0)]));
    // CurrentTime is the session's keepalive, not the model's.
    for (const [m, n] of sent) if (n === 0 || m === 'CurrentTime') sent.delete(m);
    assert.deepEqual(Object.fromEntries(sent), { WaitForUpdatesEx: 5 });
  });

  test('a renamed cluster and a removed datastore show up after one WaitForUpdatesEx, with the paths below them', async () => {
    // vcsim 0.24 reports only changes made through its Map.Update (Rename_Task of clusters,
    // datacenters, folders, VMs; removals): renaming a pool (UpdateConfig), SetField and
    // AddCustomFieldDef change its objects silently, so they are checked with a full read below.
    const admin = await rawLogin(vc);
    try {
      const inv = await watch.fetch(AbortSignal.timeout(20_000));
      const cluster = inv.objects('ClusterComputeResource')[0]!.obj.value;
      // A child pool of that cluster (not its root pool, "Resources").
      const pool = inv
        .objects('ResourcePool')
        .map((o) => o.obj.value)
        .find(
          (p) =>
            inv.tree.get(p)?.name !== 'Resources' &&
            inv.tree.ancestor(p, ['ClusterComputeResource'])?.moid === cluster,
        )!;
      const xml = await admin.client.call(
        'Rename_Task',
        refXml('_this', { type: 'ClusterComputeResource', value: cluster }) +
          '<newName>renamed-cluster</newName>',
      );
      await waitTask(admin.client, taskOf(xml));
      // A datastore without VMs can be removed (the others answer ResourceInUse).
      let removed: string | undefined;
      for (const o of [...inv.objects('Datastore')].reverse()) {
        const task = await admin.client.call('Destroy_Task', refXml('_this', o.obj));
        if (
          await waitTask(admin.client, taskOf(task)).then(
            () => true,
            () => false,
          )
        ) {
          removed = o.obj.value;
          break;
        }
      }
      assert.ok(removed, 'a datastore was removed');
      await sleep(300);
      const before = new Map(conn.calls);
      const next = await watch.fetch(AbortSignal.timeout(20_000));
      assert.equal(conn.calls.get('WaitForUpdatesEx'), (before.get('WaitForUpdatesEx') ?? 0) + 1);
      assert.equal(conn.calls.get('RetrievePropertiesEx'), before.get('RetrievePropertiesEx'));
      assert.equal(next.tree.get(cluster)?.name, 'renamed-cluster');
      assert.match(next.path(pool) ?? '', /\/renamed-cluster\/Resources\/[^/]+$/, 'pool path follows');
      assert.ok(!next.objects('Datastore').some((o) => o.obj.value === removed), 'removed datastore left');
      assert.equal(next.tree.get(removed), undefined);
      assert.equal(next.objects('Datastore').length, inv.objects('Datastore').length - 1);
      assert.equal(
        inv.tree.get(cluster)?.name !== 'renamed-cluster',
        true,
        'the older snapshot is unchanged',
      );
    } finally {
      await admin.logout();
    }
  });

  test('custom field definitions and values of VMs, hosts and datastores are in the model', async () => {
    const admin = await rawLogin(vc);
    try {
      const inv = await watch.fetch(AbortSignal.timeout(20_000));
      const vm = inv.vms[0]!.moid;
      const host = inv.hosts[0]!.moid;
      const ds = inv.objects('Datastore')[0]!.obj.value;
      const cfm = refXml('_this', { type: 'CustomFieldsManager', value: 'CustomFieldsManager' });
      const def = await admin.client.call('AddCustomFieldDef', `${cfm}<name>tier</name>`);
      const key = /<key>(\d+)<\/key>/.exec(def)![1]!;
      for (const [type, moid] of [
        ['VirtualMachine', vm],
        ['HostSystem', host],
        ['Datastore', ds],
      ] as const)
        await admin.client.call(
          'SetField',
          `${cfm}${refXml('entity', { type, value: moid })}<key>${key}</key><value>gold</value>`,
        );
      const next = await fetchInventory(conn.client, specs, AbortSignal.timeout(20_000));
      const fields = next.singleton('CustomFieldsManager')?.get('field');
      assert.ok(
        fields?.children.some((d) => child(d, 'name')?.text === 'tier'),
        'field definition',
      );
      assert.ok(hasCustomValue(next.vms.find((v) => v.moid === vm)?.extra, 'gold'), 'VM custom value');
      assert.ok(hasCustomValue(next.hostsByMoid.get(host)?.extra, 'gold'), 'host custom value');
      const vmObject = next.objects('VirtualMachine').find((o) => o.obj.value === vm);
      assert.ok(hasCustomValue(vmObject?.props, 'gold'), 'the same through objects()');
      const dsObject = next.objects('Datastore').find((o) => o.obj.value === ds);
      assert.ok(hasCustomValue(dsObject?.props, 'gold'), 'datastore custom value');
    } finally {
      await admin.logout();
    }
  });

  test('with every registered collector, the filter reads the base and whatever the collectors declare', () => {
    const all = inventorySpecs(allCollectorProperties());
    for (const t of ['VirtualMachine', 'HostSystem', 'Folder', 'Datacenter'])
      assert.ok(all.viewTypes.includes(t));
  });
});

// vcsim 8 (govmomi 0.57) truncates update sets at 100 objects, as a real vCenter may. Like 0.24, it
// neither lists objects created after the watch's view was made nor reports SetField or a pool's
// UpdateConfig, so those are not checked here.
describe('inventory model against the vSphere 8 simulator', { skip: vcsim8SkipReason() }, () => {
  let vc: Vcsim8;
  let conn: Conn;
  let watch: InventoryWatch;
  const specs = inventorySpecs(COLLECTOR_SPECS);

  before(async () => {
    vc = await startVcsim8({ args: ['-vm', '60', '-pool', '2', '-app', '1', '-pod', '1'] });
    conn = connect(vc);
    watch = new InventoryWatch(conn.client, silentLogger(), specs);
  });
  after(async () => {
    await watch?.close();
    await conn?.close();
    await vc?.stop();
  });

  test('a truncated first read is complete and equals a full read; a renamed cluster arrives by WaitForUpdatesEx', async () => {
    const full = await fetchInventory(conn.client, specs, AbortSignal.timeout(20_000));
    const inv = await watch.fetch(AbortSignal.timeout(20_000));
    assert.ok((conn.calls.get('WaitForUpdatesEx') ?? 0) > 1, 'the first update set came truncated');
    assert.equal(inv.vms.length, full.vms.length);
    for (const type of ['Datastore', 'StoragePod', 'ResourcePool', 'VirtualApp', 'ClusterComputeResource'])
      assert.deepEqual(names(inv, type), names(full, type), type);
    assert.ok(inv.singleton('CustomFieldsManager'));
    const admin = new RawVimClient(vc.url);
    await admin.login(vc.user, vc.password);
    try {
      const cluster = inv.objects('ClusterComputeResource')[0]!.obj;
      const rename = await admin.call(
        'Rename_Task',
        refXml('_this', cluster) + '<newName>renamed-cluster</newName>',
      );
      await waitTask(admin, taskOf(rename));
      await sleep(300);
      const next = await watch.fetch(AbortSignal.timeout(20_000));
      assert.equal(next.tree.get(cluster.value)?.name, 'renamed-cluster');
      const host = next.hosts.find(
        (h) => next.tree.ancestor(h.moid, ['ClusterComputeResource'])?.moid === cluster.value,
      )!;
      assert.equal(next.placement(host.moid).cluster, 'renamed-cluster');
      assert.match(next.path(host.moid) ?? '', /\/renamed-cluster\/[^/]+$/);
    } finally {
      await admin.logout();
    }
  });
});
