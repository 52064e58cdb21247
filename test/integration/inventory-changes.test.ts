import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { exporterEnv, fullInventoryArgs } from '../harness/env.js';
import { parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { RawVimClient, xmlEscape } from '../harness/vim-soap.js';
import { vmTask } from '../harness/vim-tasks.js';

const seriesOf = (samples: Sample[], moid: string): Sample[] =>
  samples.filter((s) => s.labels.vm_moid === moid || s.labels.entity_moid === moid);

for (const mode of ['incremental', 'full'] as const)
  describe(`inventory changes between scrapes (inventory: ${mode}${mode === 'incremental' ? ', the default' : ''})`, () => {
    let vc: Vcsim;
    let exporter: ExporterProcess;
    let raw: RawVimClient;
    let dir: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vsx-changes-'));
      vc = await startVcsim();
      raw = new RawVimClient(vc.url);
      await raw.login(vc.user, vc.password);
      exporter = await startExporter({
        env: exporterEnv(vc, dir),
        args: mode === 'full' ? fullInventoryArgs(dir) : [],
      });
    });
    after(async () => {
      await raw?.logout().catch(() => undefined);
      await exporter?.stop();
      await vc?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a renamed VM shows its new name and a destroyed VM is gone in the next scrape: no ghost series', async () => {
      const [renamed, destroyed] = vc.inventory.vms.filter((v) => v.powerState === 'poweredOn');
      assert.ok(renamed && destroyed);
      const before = parsePrometheusText((await exporter.scrape()).text).samples;
      assert.ok(seriesOf(before, renamed.moid).length > 10 && seriesOf(before, destroyed.moid).length > 10);

      const newName = 'renamed "vm" <ü>';
      await vmTask(raw, 'Rename_Task', renamed.moid, `<newName>${xmlEscape(newName)}</newName>`);
      await vmTask(raw, 'PowerOffVM_Task', destroyed.moid);
      await vmTask(raw, 'Destroy_Task', destroyed.moid);

      const after = parsePrometheusText((await exporter.scrape()).text).samples;
      assert.deepEqual(seriesOf(after, destroyed.moid), [], 'nothing left of the destroyed VM');
      const names = new Set(seriesOf(after, renamed.moid).map((s) => s.labels.vm ?? s.labels.entity));
      assert.deepEqual([...names], [newName], 'every series of the renamed VM carries the new name');
      assert.ok(!after.some((s) => s.labels.vm === renamed.name), 'no series under the old name');
      assert.equal(after.find((s) => s.name === 'vsphere_up')?.value, 1);
    });
  });
