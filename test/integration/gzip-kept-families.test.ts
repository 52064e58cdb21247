/**
 * Gzip answers at 1,000 VMs, where the exporter puts back the gzip members of large families that
 * did not change since the last collection: the inventory families it answers (as Prometheus asks,
 * gzip only) are the same bytes a plain-text answer of the same inventory has, before and after a
 * VM is renamed and another powered off.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { exporterEnv } from '../harness/env.js';
import { find, parsePrometheusText } from '../harness/prom-text.js';
import { RawVimClient, xmlEscape } from '../harness/vim-soap.js';
import { vmTask } from '../harness/vim-tasks.js';

// bench/measure.ts's 1,000-VM model: every VM family has 1,000 series or more, so each is kept.
const MODEL = ['-cluster', '2', '-host', '10', '-vm', '500', '-standalone-host', '0'];
// Families that depend only on the inventory (vcsim's perf values change from one collection to the next).
const INVENTORY = /^vsphere_vm_(info|power_state|cpus|memory_bytes|snapshots|guest_tools_running)[{ ]/;

describe('gzip answers with kept families at 1,000 VMs', () => {
  let vc: Vcsim;
  let exporter: ExporterProcess;
  let raw: RawVimClient;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsx-kept-'));
    vc = await startVcsim({ args: MODEL });
    raw = new RawVimClient(vc.url);
    await raw.login(vc.user, vc.password);
    exporter = await startExporter({ env: exporterEnv(vc, dir) });
  });
  after(async () => {
    await raw?.logout().catch(() => undefined);
    await exporter?.stop();
    await vc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async (encoding: 'gzip' | 'identity'): Promise<string> => {
    const res = await request(`${exporter.baseUrl}/metrics`, { headers: { 'accept-encoding': encoding } });
    assert.equal(res.statusCode, 200);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    assert.equal(res.headers['content-encoding'], encoding === 'gzip' ? 'gzip' : undefined);
    return encoding === 'gzip' ? gunzipSync(bytes).toString() : bytes.toString();
  };
  const inventoryLines = (text: string): string[] => text.split('\n').filter((l) => INVENTORY.test(l));

  test('gzip answers, with families put back, have the inventory families of a plain answer, before and after changes', async () => {
    const vms = vc.inventory.vms.filter((v) => v.powerState === 'poweredOn');
    assert.ok(vms.length >= 1000);
    await scrape('gzip');
    const kept = await scrape('gzip');
    const plain = await scrape('identity');
    assert.equal(find(parsePrometheusText(kept).samples, 'vsphere_vm_info').length, vms.length);
    assert.ok(inventoryLines(plain).length > 6 * vms.length);
    assert.deepEqual(inventoryLines(kept), inventoryLines(plain));

    const [renamed, stopped] = vms;
    const newName = 'renamed "vm" <ü>';
    await vmTask(raw, 'Rename_Task', renamed!.moid, `<newName>${xmlEscape(newName)}</newName>`);
    await vmTask(raw, 'PowerOffVM_Task', stopped!.moid);
    const changed = await scrape('gzip');
    const samples = parsePrometheusText(changed).samples;
    assert.equal(find(samples, 'vsphere_vm_info', { vm_moid: renamed!.moid })[0]?.labels.vm, newName);
    const power = { vm_moid: stopped!.moid, state: 'poweredOff' };
    assert.equal(find(samples, 'vsphere_vm_power_state', power)[0]?.value, 1);
    assert.deepEqual(inventoryLines(changed), inventoryLines(await scrape('identity')));
    // Asked again with nothing changed: the changed families are now the kept ones.
    assert.deepEqual(inventoryLines(await scrape('gzip')), inventoryLines(changed));
  });
});
