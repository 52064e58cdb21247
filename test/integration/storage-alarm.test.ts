import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim, LARGE_MODEL } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { promtoolCheckMetrics, vsphereFamiliesText } from '../harness/promtool.js';
import { exporterEnv, metric } from '../harness/env.js';
import { allTags, firstTag, RawVimClient, refXml, xmlEscape, type RawObject } from '../harness/vim-soap.js';

const MODEL = [
  ...LARGE_MODEL,
  // vcsim 0.24 has no AlarmManager; the harness marks one host red with a triggered alarm.
  '-trigger-alarm',
];
const POD = 'POD "gold"';
const STATUS: Record<string, number> = { gray: 0, green: 1, yellow: 2, red: 3 };

const moid = (xml: string | undefined): string | undefined =>
  xml === undefined ? undefined : firstTag(`<x>${xml}</x>`, 'x');
const number = (xml: string | undefined): number | undefined =>
  xml === undefined ? undefined : Number(moid(xml));

/** Datacenter name above `id`, walking `parent` through folders and pods as read by the raw client. */
function datacenterOf(id: string, objects: Map<string, RawObject>): string {
  for (let cur = objects.get(id), i = 0; cur && i < 32; i++) {
    if (cur.type === 'Datacenter') return moid(cur.props.name) ?? '';
    const parent = moid(cur.props.parent);
    cur = parent === undefined ? undefined : objects.get(parent);
  }
  return '';
}

describe('datastore and alarm collectors against vcsim (2 datacenters, 3 datastores each, one StoragePod)', () => {
  let vc: Vcsim;
  let raw: RawVimClient;
  let exporter: ExporterProcess;
  let dir: string;
  let podMoid: string;
  let podMembers: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-storage-'));
    vc = await startVcsim({ args: MODEL });
    raw = new RawVimClient(vc.url);
    await raw.login(vc.user, vc.password);
    // A datastore cluster in DC0 holding two of its three datastores, made through the API.
    const dcs = await raw.retrieveAll('Datacenter', ['name', 'datastoreFolder', 'datastore']);
    const dc0 = dcs.find((d) => moid(d.props.name) === 'DC0');
    assert.ok(dc0, 'DC0 exists');
    const dsFolder = moid(dc0.props.datastoreFolder)!;
    const podXml = await raw.call(
      'CreateStoragePod',
      refXml('_this', { type: 'Folder', value: dsFolder }) + `<name>${xmlEscape(POD)}</name>`,
    );
    podMoid = firstTag(podXml, 'returnval')!;
    podMembers = allTags(dc0.props.datastore ?? '', 'ManagedObjectReference')
      .map((x) => moid(x)!)
      .slice(0, 2);
    assert.equal(podMembers.length, 2, 'DC0 lists its datastores');
    const taskXml = await raw.call(
      'MoveIntoFolder_Task',
      refXml('_this', { type: 'StoragePod', value: podMoid }) +
        podMembers.map((m) => refXml('list', { type: 'Datastore', value: m })).join(''),
    );
    const task = firstTag(taskXml, 'returnval')!;
    const { propertyCollector } = await raw.serviceContent();
    const state = await raw.call(
      'RetrievePropertiesEx',
      refXml('_this', propertyCollector) +
        '<specSet><propSet><type>Task</type><pathSet>info.state</pathSet></propSet>' +
        `<objectSet>${refXml('obj', { type: 'Task', value: task })}</objectSet></specSet><options/>`,
    );
    assert.match(state, />success</, 'MoveIntoFolder_Task succeeded');
    exporter = await startExporter({ env: exporterEnv(vc, dir) });
  });
  after(async () => {
    await exporter?.stop();
    await raw?.logout().catch(() => undefined);
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every datastore is exported with the values vcsim holds; the pod sums its datastores', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    const datastores = await raw.retrieveAll('Datastore', [
      'name',
      'parent',
      'summary.capacity',
      'summary.freeSpace',
      'summary.uncommitted',
      'summary.accessible',
      'summary.maintenanceMode',
      'summary.type',
      'summary.url',
      'host',
      'vm',
    ]);
    const tree = new Map<string, RawObject>();
    for (const t of ['Folder', 'StoragePod', 'Datacenter'])
      for (const o of await raw.retrieveAll(t, ['name', 'parent'])) tree.set(o.moid, o);
    for (const d of datastores) tree.set(d.moid, d);
    assert.equal(datastores.length, 6);
    for (const d of datastores) {
      const id = { datastore: moid(d.props.name)!, datastore_moid: d.moid };
      const capacity = number(d.props['summary.capacity'])!;
      const free = number(d.props['summary.freeSpace'])!;
      assert.ok(capacity > 0, `vcsim reports a capacity for ${d.moid}`);
      assert.equal(metric(samples, 'vsphere_datastore_capacity_bytes', id), capacity);
      assert.equal(metric(samples, 'vsphere_datastore_free_bytes', id), free);
      const uncommitted = number(d.props['summary.uncommitted']);
      if (uncommitted === undefined) {
        // vcsim leaves summary.uncommitted unset: no sample rather than a made-up 0.
        assert.equal(find(samples, 'vsphere_datastore_uncommitted_bytes', id).length, 0);
        assert.equal(find(samples, 'vsphere_datastore_provisioned_bytes', id).length, 0);
      } else {
        assert.equal(metric(samples, 'vsphere_datastore_uncommitted_bytes', id), uncommitted);
        assert.equal(
          metric(samples, 'vsphere_datastore_provisioned_bytes', id),
          capacity - free + uncommitted,
        );
      }
      assert.equal(
        metric(samples, 'vsphere_datastore_accessible', id),
        moid(d.props['summary.accessible']) === 'true' ? 1 : 0,
      );
      const mode = moid(d.props['summary.maintenanceMode'])!;
      assert.equal(metric(samples, 'vsphere_datastore_maintenance_mode', { ...id, state: mode }), 1);
      assert.equal(find(samples, 'vsphere_datastore_maintenance_mode', id).length, 3);
      const mounts = allTags(d.props.host ?? '', 'DatastoreHostMount').length;
      assert.ok(mounts > 0, `${d.moid} is mounted somewhere`);
      assert.equal(metric(samples, 'vsphere_datastore_hosts', id), mounts);
      assert.equal(
        metric(samples, 'vsphere_datastore_vms', id),
        allTags(d.props.vm ?? '', 'ManagedObjectReference').length,
      );
      const info = find(samples, 'vsphere_datastore_info', id);
      assert.equal(info.length, 1);
      const inPod = podMembers.includes(d.moid);
      assert.deepEqual(info[0]!.labels, {
        ...id,
        type: moid(d.props['summary.type']),
        url: moid(d.props['summary.url']),
        datastore_cluster: inPod ? POD : '',
        datacenter: datacenterOf(d.moid, tree),
      });
      assert.match(info[0]!.labels.datacenter ?? '', /^DC[01]$/);
    }
    assert.equal(find(samples, 'vsphere_datastore_info').length, datastores.length);
    // The datastore cluster: labels, and totals equal to the sums of its members.
    const members = datastores.filter((d) => moid(d.props.parent) === podMoid);
    assert.deepEqual(members.map((d) => d.moid).sort(), [...podMembers].sort());
    const sum = (path: string): number => members.reduce((s, d) => s + number(d.props[path])!, 0);
    const pod = { datastore_cluster: POD, datastore_cluster_moid: podMoid };
    assert.equal(metric(samples, 'vsphere_datastore_cluster_info', { ...pod, datacenter: 'DC0' }), 1);
    assert.equal(find(samples, 'vsphere_datastore_cluster_info').length, 1);
    assert.equal(metric(samples, 'vsphere_datastore_cluster_capacity_bytes', pod), sum('summary.capacity'));
    assert.equal(metric(samples, 'vsphere_datastore_cluster_free_bytes', pod), sum('summary.freeSpace'));
    assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'datastore' }), 1);
  });

  test('every managed entity has its overallStatus; triggered alarms match triggeredAlarmState', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    const entities = await raw.retrieveAll('ManagedEntity', ['name', 'overallStatus', 'triggeredAlarmState']);
    // VMs, hosts, clusters, pools, datastores, the pod, networks, folders and datacenters.
    assert.ok(entities.length > 50, `${entities.length} entities`);
    const types = new Set(entities.map((e) => e.type));
    for (const t of [
      'VirtualMachine',
      'HostSystem',
      'ClusterComputeResource',
      'Datastore',
      'StoragePod',
      'Folder',
    ])
      assert.ok(types.has(t), t);
    for (const e of entities) {
      const id = { entity_type: e.type, entity: moid(e.props.name)!, entity_moid: e.moid };
      assert.equal(
        metric(samples, 'vsphere_entity_overall_status', id),
        STATUS[moid(e.props.overallStatus)!],
        JSON.stringify(id),
      );
    }
    assert.equal(find(samples, 'vsphere_entity_overall_status').length, entities.length);
    // vCenter lists a triggered alarm on its entity and on every ancestor; it is exported once, on its entity.
    const { propertyCollector } = await raw.serviceContent();
    const expected: Record<string, string>[] = [];
    let listed = 0;
    for (const e of entities) {
      for (const st of allTags(e.props.triggeredAlarmState ?? '', 'AlarmState')) {
        listed++;
        const entity = /<entity type="([^"]+)">([^<]+)<\/entity>/.exec(st);
        if (entity?.[2] !== e.moid) continue;
        const alarm = /<alarm type="Alarm">([^<]+)<\/alarm>/.exec(st)![1]!;
        const alarmXml = await raw.call(
          'RetrievePropertiesEx',
          refXml('_this', propertyCollector) +
            '<specSet><propSet><type>Alarm</type><pathSet>info.name</pathSet></propSet>' +
            `<objectSet>${refXml('obj', { type: 'Alarm', value: alarm })}</objectSet></specSet><options/>`,
        );
        const labels = {
          entity_type: e.type,
          entity: moid(e.props.name)!,
          entity_moid: e.moid,
          alarm: firstTag(alarmXml, 'val')!,
          alarm_moid: alarm,
          status: firstTag(st, 'overallStatus')!,
        };
        expected.push(labels);
        assert.equal(metric(samples, 'vsphere_alarm_triggered', labels), 1);
        assert.equal(
          metric(samples, 'vsphere_alarm_triggered_timestamp_seconds', labels),
          Date.parse(firstTag(st, 'time')!) / 1000,
        );
        assert.equal(
          metric(samples, 'vsphere_alarm_acknowledged', labels),
          firstTag(st, 'acknowledged') === 'true' ? 1 : 0,
        );
      }
    }
    assert.equal(expected.length, 1, 'one triggered alarm in the simulator');
    assert.ok(listed > 3, `the alarm is listed on its ancestors too (${listed} entries)`);
    assert.equal(expected[0]!.entity_type, 'HostSystem');
    assert.equal(expected[0]!.status, 'red');
    assert.notEqual(expected[0]!.alarm, '');
    assert.equal(find(samples, 'vsphere_alarm_triggered').length, expected.length);
    assert.ok(find(samples, 'vsphere_entity_overall_status').some((s) => s.value === STATUS.red));
    assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'alarm' }), 1);
  });

  test('promtool finds no problem and no series is duplicated', async () => {
    const { text } = await exporter.scrape();
    const ours = vsphereFamiliesText(text);
    assert.match(ours, /^vsphere_datastore_cluster_capacity_bytes\{/m);
    assert.match(ours, /^vsphere_entity_overall_status\{/m);
    const check = await promtoolCheckMetrics(ours);
    assert.equal(check.code, 0, check.output);
    assert.equal(check.output.trim(), '');
    const { samples } = parsePrometheusText(text);
    const keys = samples.map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`);
    assert.equal(new Set(keys).size, keys.length);
  });

  test('--no-collector.datastore and --no-collector.alarm remove their families, nothing else', async () => {
    const off = await startExporter({
      env: exporterEnv(vc, dir),
      args: ['--no-collector.datastore', '--no-collector.alarm'],
    });
    try {
      const { samples } = parsePrometheusText((await off.scrape()).text);
      const names = new Set(samples.map((s: Sample) => s.name));
      for (const n of names) assert.ok(!/^vsphere_(datastore|alarm|entity)_/.test(n), n);
      for (const c of ['datastore', 'alarm'])
        assert.equal(find(samples, 'vsphere_collector_success', { collector: c }).length, 0);
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
      assert.ok(names.has('vsphere_vm_info'));
    } finally {
      await off.stop();
    }
  });
});
