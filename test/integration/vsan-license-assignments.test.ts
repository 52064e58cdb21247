/**
 * vSAN (cluster switch, default configuration, vSAN datastore) and licence assignments against the
 * vSphere 8 simulator, compared with what a raw SOAP client (no code shared with the exporter) reads.
 * vSAN is switched on by the raw client (ReconfigureComputeResource_Task with a vsanConfig, which
 * makes vcsim 8 create a "vsanDatastore" mounted by the cluster's hosts) while the exporter runs,
 * so the values reach it through the model's watch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { rawLogin, startVcsim } from '../harness/vcsim.js';
import { startVcsim8, vcsim8SkipReason, withRaw, type Vcsim8 } from '../harness/vcsim8.js';
import { allTags, firstTag, refXml, xmlUnescape, type RawVimClient } from '../harness/vim-soap.js';
import { waitTask } from '../harness/vim-tasks.js';

/** QueryAssignedLicenses as the raw client reads it: `suffix|edition` → assets, and every key seen. */
async function rawAssignments(c: RawVimClient): Promise<{ counts: Map<string, number>; keys: string[] }> {
  // The manager's moid as LicenseManager names it (vcsim 8: LicenseAssignmentManager, vcsim 0.24: licenseassignmentmanager-1).
  const { propertyCollector } = await c.serviceContent();
  const lm = await c.call(
    'RetrievePropertiesEx',
    refXml('_this', propertyCollector) +
      '<specSet><propSet><type>LicenseManager</type><pathSet>licenseAssignmentManager</pathSet></propSet>' +
      `<objectSet>${refXml('obj', { type: 'LicenseManager', value: 'LicenseManager' })}</objectSet></specSet><options/>`,
  );
  const moid = firstTag(lm, 'val');
  assert.ok(moid, 'LicenseManager names a LicenseAssignmentManager');
  const xml = await c.call(
    'QueryAssignedLicenses',
    refXml('_this', { type: 'LicenseAssignmentManager', value: moid }),
  );
  const counts = new Map<string, number>();
  const keys: string[] = [];
  for (const a of allTags(xml, 'assignedLicense')) {
    const key = firstTag(a, 'licenseKey') ?? '';
    keys.push(key);
    const id = `${key.slice(-5)}|${firstTag(a, 'editionKey') ?? ''}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return { counts, keys };
}

/** The clusters' configurationEx.vsanConfigInfo and datastore lists, and the vSAN datastores' summary. */
async function rawVsan(c: RawVimClient) {
  const clusters = (
    await c.retrieveAll('ClusterComputeResource', ['name', 'configurationEx', 'datastore'])
  ).map((o) => {
    const info = allTags(o.props.configurationEx ?? '', 'vsanConfigInfo')[0];
    return {
      moid: o.moid,
      name: xmlUnescape(o.props.name ?? ''),
      enabled: info === undefined ? undefined : firstTag(info, 'enabled'),
      uuid: info === undefined ? undefined : firstTag(info, 'uuid'),
      autoClaim: info === undefined ? undefined : firstTag(info, 'autoClaimStorage'),
      datastores: [...(o.props.datastore ?? '').matchAll(/>([^<]+)<\/ManagedObjectReference>/g)].map(
        (m) => m[1]!,
      ),
    };
  });
  const datastores = (await c.retrieveAll('Datastore', ['summary']))
    .map((o) => ({
      moid: o.moid,
      name: firstTag(o.props.summary ?? '', 'name') ?? '',
      type: firstTag(o.props.summary ?? '', 'type'),
      capacity: Number(firstTag(o.props.summary ?? '', 'capacity')),
      free: Number(firstTag(o.props.summary ?? '', 'freeSpace')),
    }))
    .filter((d) => d.type === 'vsan');
  return { clusters, datastores };
}

/** ReconfigureComputeResource_Task switching vSAN on (auto-claim off), waiting for the task. */
async function enableVsan(c: RawVimClient, cluster: string): Promise<void> {
  const xml = await c.call(
    'ReconfigureComputeResource_Task',
    refXml('_this', { type: 'ClusterComputeResource', value: cluster }) +
      '<spec xsi:type="ClusterConfigSpecEx"><vsanConfig><enabled>true</enabled>' +
      '<defaultConfig><autoClaimStorage>false</autoClaimStorage></defaultConfig></vsanConfig></spec>' +
      '<modify>true</modify>',
  );
  const task = firstTag(xml, 'returnval');
  assert.ok(task, 'ReconfigureComputeResource_Task returned a task');
  await waitTask(c, task);
}

const calls = (samples: Sample[], method: string): number =>
  find(samples, 'vsphere_soap_requests_total')
    .filter((s) => s.labels.method === method)
    .reduce((n, s) => n + s.value, 0);

void describe(
  'vSAN and licence assignments against vcsim 8',
  { skip: vcsim8SkipReason(), timeout: 180_000 },
  () => {
    let vc: Vcsim8;
    let exporter: ExporterProcess;
    let dir: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vsx-vsan-'));
      vc = await startVcsim8({ args: ['-cluster', '2'] });
      const pw = join(dir, 'password');
      writeFileSync(pw, vc.password, { mode: 0o600 });
      exporter = await startExporter({
        env: { VSPHERE_URL: vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
        args: ['--log.level=debug'],
      });
    });
    after(async () => {
      await exporter?.stop();
      await vc?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const scrape = async (): Promise<{ text: string; samples: Sample[] }> => {
      const r = await exporter.scrape();
      assert.equal(r.status, 200);
      return { text: r.text, samples: parsePrometheusText(r.text).samples };
    };

    test('vSAN switched on by the raw client reaches the exporter through the watch, as the raw client reads it', async (t) => {
      const first = await scrape();
      const before = await withRaw(vc, rawVsan);
      assert.equal(before.clusters.length, 2);
      for (const c of before.clusters)
        assert.equal(
          find(first.samples, 'vsphere_cluster_vsan_enabled', { cluster_moid: c.moid })[0]?.value,
          0,
        );
      assert.equal(before.datastores.length, 0, 'no vSAN datastore before vSAN is enabled');

      const target = before.clusters[0]!;
      await withRaw(vc, (c) => enableVsan(c, target.moid));
      const truth = await withRaw(vc, rawVsan);
      const on = truth.clusters.find((c) => c.moid === target.moid)!;
      assert.equal(on.enabled, 'true');
      assert.equal(truth.datastores.length, 1, 'vcsim 8 created a vSAN datastore');
      const vsanDs = truth.datastores[0]!;
      assert.ok(on.datastores.includes(vsanDs.moid), 'the cluster mounts it');

      let now = first;
      for (let i = 0; i < 20; i++) {
        now = await scrape();
        if (find(now.samples, 'vsphere_cluster_vsan_enabled', { cluster_moid: target.moid })[0]?.value === 1)
          break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const id = { cluster: on.name, cluster_moid: on.moid };
      t.diagnostic(
        now.text
          .split('\n')
          .filter((l) => l.startsWith('vsphere_cluster_vsan_'))
          .join('\n'),
      );
      assert.equal(find(now.samples, 'vsphere_cluster_vsan_enabled', id)[0]?.value, 1);
      const other = truth.clusters.find((c) => c.moid !== target.moid)!;
      assert.equal(
        find(now.samples, 'vsphere_cluster_vsan_enabled', { cluster_moid: other.moid })[0]?.value,
        0,
      );
      assert.deepEqual(find(now.samples, 'vsphere_cluster_vsan_info')[0]?.labels, {
        ...id,
        vsan_cluster_uuid: on.uuid,
      });
      assert.equal(
        find(now.samples, 'vsphere_cluster_vsan_auto_claim_storage', id)[0]?.value,
        on.autoClaim === 'true' ? 1 : 0,
      );
      const dsId = { ...id, datastore: vsanDs.name, datastore_moid: vsanDs.moid };
      assert.equal(
        find(now.samples, 'vsphere_cluster_vsan_datastore_capacity_bytes', dsId)[0]?.value,
        vsanDs.capacity,
      );
      assert.equal(
        find(now.samples, 'vsphere_cluster_vsan_datastore_free_bytes', dsId)[0]?.value,
        vsanDs.free,
      );
      assert.equal(find(now.samples, 'vsphere_cluster_vsan_datastore_capacity_bytes').length, 1);
      // Operators find the same datastore through the datastore collector's type label.
      assert.equal(
        find(now.samples, 'vsphere_datastore_info', { datastore_moid: vsanDs.moid })[0]?.labels.type,
        'vsan',
      );
      assert.equal(find(now.samples, 'vsphere_collector_success', { collector: 'vsan' })[0]?.value, 1);
    });

    test('assigned assets per licence as QueryAssignedLicenses says, asked once for many scrapes, no key shown', async (t) => {
      const raw = await withRaw(vc, rawAssignments);
      assert.ok(raw.counts.size > 0, 'vcsim 8 answers QueryAssignedLicenses');
      let last = await scrape();
      for (let i = 0; i < 3; i++) last = await scrape();
      const assigned = find(last.samples, 'vsphere_license_assigned_assets');
      t.diagnostic(assigned.map((s) => `${JSON.stringify(s.labels)} ${s.value}`).join('\n'));
      assert.equal(assigned.length, raw.counts.size);
      for (const [id, n] of raw.counts) {
        const [suffix, edition] = id.split('|');
        assert.equal(
          find(assigned, 'vsphere_license_assigned_assets', { license_key_suffix: suffix, edition })[0]
            ?.value,
          n,
          id,
        );
      }
      // Every scrape of both tests within the 5-minute interval: one call in all.
      assert.equal(calls(last.samples, 'QueryAssignedLicenses'), 1);
      const logs = JSON.stringify(exporter.logs);
      const status = (await exporter.scrape('/')).text;
      for (const key of new Set(raw.keys)) {
        assert.ok(key.length > 5);
        for (const [where, text] of [
          ['scrape', last.text],
          ['logs', logs],
          ['status page', status],
        ] as const)
          assert.ok(!text.includes(key), `${where} holds no full licence key`);
      }
    });
  },
);

void describe('licence assignments against vcsim 0.24', { timeout: 120_000 }, () => {
  test('assigned assets as the raw client reads them; every cluster says vSAN 0 (vcsim 0.24 cannot enable it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-vsan24-'));
    const vc = await startVcsim();
    let exporter: ExporterProcess | undefined;
    try {
      const pw = join(dir, 'password');
      writeFileSync(pw, vc.password, { mode: 0o600 });
      exporter = await startExporter({
        env: { VSPHERE_URL: vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
      });
      const r = await exporter.scrape();
      const samples = parsePrometheusText(r.text).samples;
      const s = await rawLogin(vc);
      const raw = await rawAssignments(s.client).finally(() => s.logout());
      assert.ok(raw.counts.size > 0);
      for (const [id, n] of raw.counts) {
        const [suffix, edition] = id.split('|');
        assert.equal(
          find(samples, 'vsphere_license_assigned_assets', { license_key_suffix: suffix, edition })[0]?.value,
          n,
          id,
        );
      }
      const enabled = find(samples, 'vsphere_cluster_vsan_enabled');
      assert.ok(enabled.length > 0);
      assert.ok(enabled.every((e) => e.value === 0));
      assert.equal(find(samples, 'vsphere_collector_success', { collector: 'vsan' })[0]?.value, 1);
    } finally {
      await exporter?.stop();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
