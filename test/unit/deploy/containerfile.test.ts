import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { buildKustomization, kubernetesDir, podSpec } from '../../harness/kube-manifests.js';
import { repoRoot } from '../../harness/procs.js';

// No container runtime is available where the tests run, so the image is not built here: this
// checks the Containerfile against the repository, and test/integration/deploy-package.test.ts
// runs its install steps outside a container.

/** Instructions of the Containerfile, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; arg: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), arg: rest.join(' ') };
    });
}

const file = readFileSync(join(repoRoot, 'Containerfile'), 'utf8');
const all = instructions(file);
const fromIdx = all.flatMap((i, n) => (i.op === 'FROM' ? [n] : []));
const stages = fromIdx.map((start, k) => all.slice(start, fromIdx[k + 1]));
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
};
const ignore = (name: string) =>
  readFileSync(join(repoRoot, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));

describe('Containerfile', () => {
  it('builds on node:20-slim in two stages: npm ci + build, then production dependencies only', () => {
    assert.equal(stages.length, 2);
    assert.deepEqual(
      stages.map((s) => s[0]!.arg),
      ['node:20-slim AS build', 'node:20-slim'],
    );
    const runs = (s: { op: string; arg: string }[]) => s.filter((i) => i.op === 'RUN').map((i) => i.arg);
    assert.ok(runs(stages[0]!).some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev')));
    assert.ok(runs(stages[0]!).includes('npm run build'));
    assert.ok(pkg.scripts.build, 'package.json has a build script');
    assert.ok(runs(stages[1]!).some((r) => /^npm ci --omit=dev\b/.test(r)));
    assert.ok(runs(stages[1]!).some((r) => /apt-get install .*\btini\b/.test(r)));
    assert.ok(!runs(stages[1]!).some((r) => r.includes('npm run build')), 'no compiler in the runtime stage');
  });

  it('copies only files that exist and are not excluded from the build context', () => {
    const excluded = ignore('.containerignore');
    assert.deepEqual(ignore('.dockerignore'), excluded, '.dockerignore and .containerignore agree');
    const copies = all.filter((i) => i.op === 'COPY' && !i.arg.startsWith('--from='));
    assert.ok(copies.length > 0);
    for (const c of copies) {
      const sources = c.arg.split(/\s+/).slice(0, -1);
      for (const s of sources) {
        assert.ok(existsSync(join(repoRoot, s)), `${s} exists`);
        assert.ok(!excluded.includes(s.replace(/\/$/, '')), `${s} is not in .containerignore`);
      }
    }
    for (const needed of ['node_modules', 'dist', '.git']) assert.ok(excluded.includes(needed), needed);
    assert.ok(all.some((i) => i.op === 'COPY' && i.arg === '--from=build /src/dist ./dist'));
  });

  it('runs the package bin as a non-root uid under tini, exposing the default port', async () => {
    const runtime = stages[1]!;
    const workdir = runtime.findLast((i) => i.op === 'WORKDIR')!.arg;
    const entry = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.arg) as string[];
    assert.deepEqual(entry, ['/usr/bin/tini', '--', 'node', join(workdir, pkg.bin['vsphere-exporter']!)]);
    const user = runtime.find((i) => i.op === 'USER')!.arg;
    const [uid, gid] = user.split(':').map(Number);
    assert.ok(uid! > 0 && gid! > 0, `numeric non-root USER, got ${user}`);
    const deploy = buildKustomization(kubernetesDir).find((o) => o.kind === 'Deployment')!;
    assert.equal(podSpec(deploy)!.securityContext!.runAsUser, uid, 'same uid as the Kubernetes Deployment');
    const r = await loadConfig([], {
      VSPHERE_URL: 'https://vc.invalid',
      VSPHERE_USER: 'u',
      VSPHERE_PASSWORD: 'p',
    });
    assert.equal(r.kind, 'run');
    const port = /:(\d+)$/.exec(r.config.web.listenAddress)![1]!;
    assert.equal(runtime.find((i) => i.op === 'EXPOSE')!.arg, port);
    const health = runtime.find((i) => i.op === 'HEALTHCHECK')!.arg;
    assert.ok(health.includes(`http://127.0.0.1:${port}/-/healthy`));
    assert.match(readFileSync(join(repoRoot, 'src', 'app.ts'), 'utf8'), /server\.get\('\/-\/healthy'/);
  });
});
