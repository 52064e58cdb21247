import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { repoRoot } from '../../harness/procs.js';

const doc = readFileSync(join(repoRoot, 'docs', 'scaling.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const tmp = mkdtempSync(join(tmpdir(), 'vsx-scaling-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface BenchSize {
  size: number;
  wallMs: { median: number };
  cpu: { exporterSecondsPerScrape: number };
  rss: { peakMiB: number };
  served: { samples: number };
}
const bench = JSON.parse(
  readFileSync(join(repoRoot, 'bench', 'results', 'final', 'default-2026-11-27.json'), 'utf8'),
) as {
  sizes: BenchSize[];
};

describe('docs/scaling.md', () => {
  it('cites the benchmark figures as bench/results/final/default-2026-11-27.json has them', () => {
    assert.equal(bench.sizes.length, 3);
    for (const s of bench.sizes) {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${s.size.toLocaleString('en-US')} |`));
      assert.ok(row, `row for ${s.size} VMs`);
      const cells = row.split('|').map((c) => c.trim());
      assert.equal(cells[3], s.served.samples.toLocaleString('en-US'));
      assert.equal(cells[4], `${Math.round(s.wallMs.median).toLocaleString('en-US')} ms`);
      assert.equal(cells[5], `${s.cpu.exporterSecondsPerScrape.toFixed(2)} s`);
      assert.equal(cells[6], `${Math.round(s.rss.peakMiB)} MiB`);
    }
  });

  it('every exporter config example loads with loadConfig', async () => {
    const configs = blocks.filter((b) => b.startsWith('# exporter config'));
    assert.ok(configs.length >= 2);
    const secrets = join(tmp, 'secrets');
    mkdirSync(secrets, { recursive: true });
    for (const [i, b] of configs.entries()) {
      const text = b.replaceAll('/etc/vsphere-exporter/secrets/', `${secrets}/`);
      for (const m of text.matchAll(/password_file: (\S+)/g)) writeFileSync(m[1]!, 'placeholder\n');
      const file = join(tmp, `config-${i}.yml`);
      writeFileSync(file, text);
      const r = await loadConfig([`--config.file=${file}`], {});
      assert.equal(r.kind, 'run', b);
    }
  });

  it('every Prometheus config example passes promtool check config', async () => {
    const configs = blocks.filter((b) => b.startsWith('# prometheus config'));
    assert.ok(configs.length >= 2);
    for (const [i, b] of configs.entries()) {
      const file = join(tmp, `prometheus-${i}.yml`);
      writeFileSync(file, b);
      const agent = b.includes('agent mode') ? ['--agent'] : [];
      const out = await new Promise<{ code: number; text: string }>((resolve) =>
        execFile('promtool', ['check', 'config', ...agent, file], { timeout: 30_000 }, (e, so, se) =>
          resolve({ code: typeof e?.code === 'number' ? e.code : e ? -1 : 0, text: `${so}${se}` }),
        ),
      );
      assert.equal(out.code, 0, `${b}\n${out.text}`);
    }
  });
});
