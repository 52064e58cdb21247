import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim, LARGE_MODEL } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { promtoolCheckMetrics, vsphereFamiliesText } from '../harness/promtool.js';
import { exporterEnv, metric } from '../harness/env.js';
import { startRecordingProxy, type RecordingProxy } from '../harness/recording-proxy.js';
import { RawVimClient, refXml } from '../harness/vim-soap.js';
import { addField, setField, VapiTestClient } from '../harness/vapi-fixtures.js';

const MODEL = LARGE_MODEL;
const CONFIG = `info_labels:
  tag_categories: [env, "Owner Team"]
  custom_attributes: ["Backup Policy"]
`;
const PROMOTED = ['tag_env', 'tag_owner_team', 'attribute_backup_policy'];
const LIST_ATTACHED = '/rest/com/vmware/cis/tagging/tag-association';

describe('info_labels: tag categories and custom attributes as labels of vm/host info', () => {
  let vc: Vcsim;
  let proxy: RecordingProxy;
  let exporter: ExporterProcess;
  let dir: string;
  let soap: RawVimClient;
  // moid → expected [tag_env, tag_owner_team, attribute_backup_policy]; absent: all "".
  const expected = new Map<string, string[]>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-info-labels-'));
    vc = await startVcsim({ args: MODEL });
    proxy = await startRecordingProxy(vc.url);
    const rest = new VapiTestClient(new URL(vc.url).origin);
    await rest.login(vc.user, vc.password);
    const [vm0, vm1, vm2] = vc.inventory.vms;
    const [host0, host1] = vc.inventory.hosts;
    assert.ok(vm0 && vm1 && vm2 && host0 && host1);

    const env = await rest.category('env');
    const team = await rest.category('Owner Team');
    const other = await rest.category('other');
    const prod = await rest.tag(env, 'prod');
    const blue = await rest.tag(env, 'blue-green');
    const ops = await rest.tag(team, 'ops, "night"');
    const hidden = await rest.tag(other, 'not promoted');
    // vm0 has two tags of one category: they are joined, sorted.
    await rest.attach(prod, 'VirtualMachine', vm0.moid);
    await rest.attach(blue, 'VirtualMachine', vm0.moid);
    await rest.attach(ops, 'VirtualMachine', vm0.moid);
    await rest.attach(prod, 'VirtualMachine', vm1.moid);
    await rest.attach(ops, 'HostSystem', host0.moid);
    await rest.attach(hidden, 'VirtualMachine', vm2.moid);
    await rest.attach(hidden, 'HostSystem', host1.moid);

    soap = new RawVimClient(vc.url);
    await soap.login(vc.user, vc.password);
    const sc = await soap.call(
      'RetrieveServiceContent',
      refXml('_this', { type: 'ServiceInstance', value: 'ServiceInstance' }),
    );
    const cfm = /<customFieldsManager type="CustomFieldsManager">([^<]+)</.exec(sc)?.[1] ?? '';
    assert.ok(cfm, 'vcsim has a CustomFieldsManager');
    // One attribute name, defined once per type (two keys), as vCenter allows.
    const vmKey = await addField(soap, cfm, 'Backup Policy', 'VirtualMachine');
    const hostKey = await addField(soap, cfm, 'Backup Policy', 'HostSystem');
    const unrelated = await addField(soap, cfm, 'owner', 'VirtualMachine');
    await setField(soap, cfm, 'VirtualMachine', vm0.moid, vmKey, 'daily');
    await setField(soap, cfm, 'HostSystem', host1.moid, hostKey, 'weekly \\ "full"');
    await setField(soap, cfm, 'VirtualMachine', vm2.moid, unrelated, 'alice');

    expected.set(vm0.moid, ['blue-green,prod', 'ops, "night"', 'daily']);
    expected.set(vm1.moid, ['prod', '', '']);
    expected.set(host0.moid, ['', 'ops, "night"', '']);
    expected.set(host1.moid, ['', '', 'weekly \\ "full"']);

    const cfg = join(dir, 'config.yml');
    writeFileSync(cfg, CONFIG);
    exporter = await startExporter({
      env: exporterEnv(vc, dir, { url: proxy.url }),
      args: ['--config.file', cfg, '--collector.tag'],
    });
  });
  after(async () => {
    await exporter?.stop();
    await soap?.logout().catch(() => undefined);
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const promotedOf = (s: Sample) => PROMOTED.map((l) => s.labels[l]);

  test('every VM and host carries the promoted labels with exactly the expected values', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    for (const c of ['tag', 'vm', 'host'])
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: c }), 1, c);
    for (const [name, kind, objects] of [
      ['vsphere_vm_info', 'vm', vc.inventory.vms],
      ['vsphere_host_info', 'host', vc.inventory.hosts],
    ] as const) {
      const got = find(samples, name);
      assert.deepEqual(got.map((s) => s.labels[`${kind}_moid`]).sort(), objects.map((o) => o.moid).sort());
      for (const s of got) {
        const moid = s.labels[`${kind}_moid`]!;
        assert.deepEqual(promotedOf(s), expected.get(moid) ?? ['', '', ''], `${name} ${moid}`);
        assert.equal(s.value, 1);
      }
      // A fixed label set: the same label names on every series, empty values included.
      const sets = new Set(got.map((s) => JSON.stringify(Object.keys(s.labels).sort())));
      assert.equal(sets.size, 1, `${name}: ${[...sets].join(' | ')}`);
      assert.ok(PROMOTED.every((l) => [...sets][0]!.includes(`"${l}"`)));
    }
    // Other families keep their identity labels only.
    for (const s of find(samples, 'vsphere_vm_power_state'))
      assert.ok(PROMOTED.every((l) => !(l in s.labels)));
  });

  test('the output passes promtool', async () => {
    const { text } = await exporter.scrape();
    const ours = vsphereFamiliesText(text);
    assert.match(
      ours,
      /tag_env="blue-green,prod",tag_owner_team="ops, \\"night\\"",attribute_backup_policy="daily"/,
    );
    const check = await promtoolCheckMetrics(ours);
    assert.equal(check.code, 0, check.output);
  });

  test('promotion adds no tagging call: attachments are listed once per scrape', async () => {
    for (let i = 0; i < 2; i++) {
      const before = proxy.requests.length;
      const { samples } = parsePrometheusText((await exporter.scrape()).text);
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'tag' }), 1);
      const restCalls = proxy.requests.slice(before).filter((r) => r.path.startsWith('/rest/'));
      // Names are cached by then: one list-attached-objects-on-tags request, not two.
      assert.deepEqual(
        restCalls.map((r) => `${r.method} ${r.path}${r.query}`),
        [`POST ${LIST_ATTACHED}?~action=list-attached-objects-on-tags`],
      );
    }
    const lists = proxy.requests.filter((r) => r.path === LIST_ATTACHED);
    const scrapes = proxy.requests.filter((r) => r.path === '/sdk').length > 0;
    assert.ok(scrapes);
    // First scrape + promtool scrape + these two: each exactly one list.
    assert.equal(lists.length, 4);
  });
});
