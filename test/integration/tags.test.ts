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
import { startRecordingProxy, type RecordingProxy } from '../harness/recording-proxy.js';
import { allTags, firstTag, RawVimClient, refXml, xmlUnescape } from '../harness/vim-soap.js';
import { addField, setField, statusWithSession, VapiTestClient } from '../harness/vapi-fixtures.js';

const MODEL = LARGE_MODEL;

const tuples = (samples: Sample[], name: string, labels: string[]): string[] =>
  find(samples, name)
    .map((s) => JSON.stringify(labels.map((l) => s.labels[l])))
    .sort();

describe('tag collector against vcsim', () => {
  let vc: Vcsim;
  let proxy: RecordingProxy;
  let exporter: ExporterProcess;
  let dir: string;
  let rest: VapiTestClient;
  let soap: RawVimClient;
  let cfm: string;
  const expectedTags: [string, string, string, string][] = [];
  const expectedAttrs: [string, string, string, string][] = [];
  let tagIds: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-tags-'));
    vc = await startVcsim({ args: MODEL });
    proxy = await startRecordingProxy(vc.url);
    const origin = new URL(vc.url).origin;
    rest = new VapiTestClient(origin);
    await rest.login(vc.user, vc.password);

    const [vm0, vm1, vm2] = vc.inventory.vms;
    const [host0] = vc.inventory.hosts;
    assert.ok(vm0 && vm1 && vm2 && host0);
    soap = new RawVimClient(vc.url);
    await soap.login(vc.user, vc.password);
    const ds0 = (await soap.retrieveAll('Datastore', ['name']))[0];
    assert.ok(ds0);

    const env = await rest.category('env');
    const odd = await rest.category('Quoted "cat" \\ ü');
    tagIds = {
      prod: await rest.tag(env, 'prod'),
      quotes: await rest.tag(env, 'say "hi"'),
      backslash: await rest.tag(odd, 'C:\\path\\x'),
      newline: await rest.tag(odd, 'line1\nline2'),
      unicode: await rest.tag(odd, 'ünïcødé ☃ 日本語'),
      unused: await rest.tag(env, 'unused'),
    };
    const attach = async (
      tag: keyof typeof tagIds,
      cat: string,
      tagName: string,
      type: string,
      moid: string,
    ) => {
      await rest.attach(tagIds[tag]!, type, moid);
      expectedTags.push([cat, tagName, type, moid]);
    };
    await attach('prod', 'env', 'prod', 'VirtualMachine', vm0.moid);
    await attach('prod', 'env', 'prod', 'VirtualMachine', vm1.moid);
    await attach('quotes', 'env', 'say "hi"', 'VirtualMachine', vm0.moid);
    await attach('backslash', 'Quoted "cat" \\ ü', 'C:\\path\\x', 'HostSystem', host0.moid);
    await attach('newline', 'Quoted "cat" \\ ü', 'line1\nline2', 'VirtualMachine', vm2.moid);
    await attach('unicode', 'Quoted "cat" \\ ü', 'ünïcødé ☃ 日本語', 'Datastore', ds0.moid);

    const sc = await soap.call(
      'RetrieveServiceContent',
      refXml('_this', { type: 'ServiceInstance', value: 'ServiceInstance' }),
    );
    cfm = /<customFieldsManager type="CustomFieldsManager">([^<]+)</.exec(sc)?.[1] ?? '';
    assert.ok(cfm, 'vcsim has a CustomFieldsManager');
    const owner = await addField(soap, cfm, 'owner', 'VirtualMachine');
    const rack = await addField(soap, cfm, 'rack "no" \\ ß', 'HostSystem');
    await addField(soap, cfm, 'unused', 'VirtualMachine');
    const set = async (type: string, moid: string, key: string, attr: string, value: string) => {
      await setField(soap, cfm, type, moid, key, value);
      expectedAttrs.push([type, moid, attr, value]);
    };
    await set('VirtualMachine', vm0.moid, owner, 'owner', 'alice "a" \\ b\nc ✓');
    await set('VirtualMachine', vm1.moid, owner, 'owner', 'bob');
    await set('HostSystem', host0.moid, rack, 'rack "no" \\ ß', 'R1');

    exporter = await startExporter({
      env: exporterEnv(vc, dir, { url: proxy.url }),
      args: ['--collector.tag'],
    });
  });
  after(async () => {
    await exporter?.stop();
    await soap?.logout().catch(() => undefined);
    await proxy?.close();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('vsphere_tag_info equals exactly the attachments, special characters intact', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'tag' }), 1);
    assert.deepEqual(
      tuples(samples, 'vsphere_tag_info', ['category', 'tag', 'object_type', 'object_moid']),
      expectedTags.map((t) => JSON.stringify(t)).sort(),
    );
    for (const s of find(samples, 'vsphere_tag_info')) assert.equal(s.value, 1);
  });

  test('vsphere_custom_attribute_info equals the customValue vcsim holds', async () => {
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    const got = tuples(samples, 'vsphere_custom_attribute_info', [
      'object_type',
      'object_moid',
      'attribute',
      'value',
    ]);
    assert.deepEqual(got, expectedAttrs.map((t) => JSON.stringify(t)).sort());
    // Independently: every entity's customValue as vcsim reports it, named by CustomFieldsManager.field.
    const fieldsXml = await soap.call(
      'RetrievePropertiesEx',
      refXml('_this', (await soap.serviceContent()).propertyCollector) +
        `<specSet><propSet><type>CustomFieldsManager</type><pathSet>field</pathSet></propSet>` +
        `<objectSet>${refXml('obj', { type: 'CustomFieldsManager', value: cfm })}</objectSet></specSet><options/>`,
    );
    const fieldName = new Map(
      allTags(fieldsXml, 'CustomFieldDef').map((d) => [
        firstTag(d, 'key'),
        xmlUnescape(firstTag(d, 'name') ?? ''),
      ]),
    );
    const truth: string[] = [];
    for (const o of await soap.retrieveAll('ManagedEntity', ['customValue'])) {
      for (const v of allTags(o.props.customValue ?? '', 'CustomFieldValue'))
        truth.push(
          JSON.stringify([
            o.type,
            o.moid,
            fieldName.get(firstTag(v, 'key')),
            xmlUnescape(firstTag(v, 'value') ?? ''),
          ]),
        );
    }
    assert.deepEqual(got, truth.sort());
  });

  test('promtool accepts the output', async () => {
    const { text } = await exporter.scrape();
    const ours = vsphereFamiliesText(text);
    assert.match(ours, /vsphere_tag_info\{category="Quoted \\"cat\\" \\\\ ü",tag="line1\\nline2"/);
    const check = await promtoolCheckMetrics(ours);
    assert.equal(check.code, 0, check.output);
  });

  test('names are cached, attachments are read at every collection', async () => {
    const before = proxy.requests.length;
    const vm3 = vc.inventory.vms[3]!;
    await rest.attach(tagIds.unused!, 'VirtualMachine', vm3.moid);
    const { samples } = parsePrometheusText((await exporter.scrape()).text);
    assert.equal(find(samples, 'vsphere_tag_info', { tag: 'unused', object_moid: vm3.moid }).length, 1);
    const restCalls = proxy.requests.slice(before).filter((r) => r.path.startsWith('/rest/'));
    assert.deepEqual(
      restCalls.map((r) => `${r.method} ${r.path}${r.query}`),
      ['POST /rest/com/vmware/cis/tagging/tag-association?~action=list-attached-objects-on-tags'],
    );
  });

  test('SIGTERM deletes the REST session (vcsim then refuses its id); nothing secret is logged', async () => {
    const used = proxy.requests.filter((r) => r.path.startsWith('/rest/com/vmware/cis/tagging'));
    const sids = new Set(used.map((r) => r.sessionId));
    assert.equal(sids.size, 1, 'one kept REST session');
    const [sid] = [...sids];
    assert.ok(sid);
    const origin = new URL(vc.url).origin;
    assert.equal(await statusWithSession(origin, sid), 200);
    const logins = proxy.requests.filter(
      (r) => r.method === 'POST' && r.path === '/rest/com/vmware/cis/session',
    );
    assert.equal(logins.length, 1, 'one REST login for all scrapes');
    exporter.signal('SIGTERM');
    assert.equal((await exporter.exited).code, 0);
    const deletes = proxy.requests.filter(
      (r) => r.method === 'DELETE' && r.path === '/rest/com/vmware/cis/session',
    );
    assert.deepEqual(
      deletes.map((r) => [r.status, r.sessionId === sid]),
      [[200, true]],
    );
    assert.equal(await statusWithSession(origin, sid), 401);
    const logText = JSON.stringify(exporter.logs);
    assert.ok(!logText.includes(sid), 'session id not logged');
    assert.ok(!logText.includes(vc.password), 'password not logged');
    assert.ok(exporter.logs.some((l) => l.msg === 'logged out of the vCenter REST session'));
  });
});

describe('tag collector failures and opt-in', () => {
  test('REST password refused: tag collector fails, the others still succeed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-tags-'));
    const vc = await startVcsim({ args: ['-vapi-user', 'exporter:only-for-rest'] });
    const soap = new RawVimClient(vc.url);
    await soap.login(vc.user, vc.password);
    const sc = await soap.call(
      'RetrieveServiceContent',
      refXml('_this', { type: 'ServiceInstance', value: 'ServiceInstance' }),
    );
    const cfm = /<customFieldsManager type="CustomFieldsManager">([^<]+)</.exec(sc)?.[1] ?? '';
    const vm0 = vc.inventory.vms[0]!;
    await setField(
      soap,
      cfm,
      'VirtualMachine',
      vm0.moid,
      await addField(soap, cfm, 'owner', 'VirtualMachine'),
      'x',
    );
    await soap.logout();
    const exporter = await startExporter({ env: exporterEnv(vc, dir), args: ['--collector.tag'] });
    try {
      const { samples } = parsePrometheusText((await exporter.scrape()).text);
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'tag' }), 0);
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
      assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'host' }), 1);
      assert.equal(find(samples, 'vsphere_tag_info').length, 0);
      // Custom attributes come over SOAP and are emitted before the REST part fails: they are kept.
      assert.deepEqual(
        tuples(samples, 'vsphere_custom_attribute_info', ['object_moid', 'attribute', 'value']),
        [JSON.stringify([vm0.moid, 'owner', 'x'])],
      );
      assert.ok(exporter.logs.some((l) => l.msg === 'vCenter rejected the REST login'));
      assert.ok(!JSON.stringify(exporter.logs).includes(vc.password));
    } finally {
      await exporter.stop();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without --collector.tag: no REST request, no tag families', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsx-tags-'));
    const vc = await startVcsim();
    const proxy = await startRecordingProxy(vc.url);
    const exporter = await startExporter({ env: exporterEnv(vc, dir, { url: proxy.url }) });
    try {
      for (let i = 0; i < 2; i++) {
        const { samples } = parsePrometheusText((await exporter.scrape()).text);
        assert.equal(find(samples, 'vsphere_collector_success', { collector: 'tag' }).length, 0);
        assert.equal(find(samples, 'vsphere_tag_info').length, 0);
        assert.equal(find(samples, 'vsphere_custom_attribute_info').length, 0);
        assert.equal(metric(samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
      }
      exporter.signal('SIGTERM');
      await exporter.exited;
      assert.ok(
        proxy.requests.some((r) => r.path === '/sdk'),
        'the proxy did see the SOAP traffic',
      );
      assert.deepEqual(
        proxy.requests.filter((r) => r.path.startsWith('/rest')),
        [],
      );
    } finally {
      await exporter.stop();
      await proxy.close();
      await vc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
