import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exporterEntry } from '../harness/exporter.js';
import {
  buildKustomization,
  containerIdentity,
  kubeletSecretFile,
  kubernetesDir,
  podSpec,
  type MountedFile,
} from '../harness/kube-manifests.js';
import { closed, eachLine, repoRoot, terminate, track } from '../harness/procs.js';

const SETPRIV = '/usr/bin/setpriv';
const canSwitchUser = process.getuid?.() === 0 && existsSync(SETPRIV);

/**
 * Runs the built exporter as `who` (uid, gid, supplementary groups, the way the container runtime
 * starts it) with the password file `file`, until it logs `listening`; returns its log lines.
 */
async function startupLog(file: string, who: { uid: number; gids: number[] }): Promise<string[]> {
  const [gid, ...groups] = who.gids;
  const args = [
    '--pdeathsig',
    'SIGKILL',
    `--reuid=${who.uid}`,
    `--regid=${gid}`,
    groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups',
    '--',
    process.execPath,
    exporterEntry,
    '--web.listen-address=127.0.0.1:0',
    '--log.format=json',
  ];
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // Nothing listens there: the exporter starts without a vCenter.
    VSPHERE_URL: 'https://127.0.0.1:1',
    VSPHERE_USER: 'u',
    VSPHERE_PASSWORD_FILE: file,
  };
  const child = spawn(SETPRIV, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const exited = closed(child);
  const lines: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "listening" within 30 s:\n${lines.join('\n')}`)),
        30_000,
      );
      const onLine = (line: string) => {
        lines.push(line);
        if (line.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      eachLine(child.stdout, onLine);
      eachLine(child.stderr, onLine);
      void exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`exporter exited (code ${e.code}) before listening:\n${lines.join('\n')}`));
      });
    });
  } finally {
    await terminate(child, exited, 10_000);
  }
  return lines;
}

describe('password file mounted from the shipped Kubernetes Secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsx-kubelet-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the exporter, run as the manifest`s user, starts without a permission warning; a world-readable file still warns', async (t) => {
    if (!canSwitchUser)
      return t.skip('needs root and setpriv to run the exporter as the pod`s uid and groups');
    const objects = buildKustomization(kubernetesDir);
    const deploy = objects.find((o) => o.kind === 'Deployment')!;
    const pod = podSpec(deploy)!;
    const c = pod.containers[0]!;
    const user = /^USER (\d+):(\d+)$/m.exec(readFileSync(join(repoRoot, 'Containerfile'), 'utf8'))!;
    const who = containerIdentity(pod, c, { uid: Number(user[1]), gid: Number(user[2]) });
    const volume = pod.volumes!.find((v) => v.secret)!;
    const mounted: MountedFile = kubeletSecretFile(pod, volume.name);
    assert.equal(mounted.mode, 0o440, 'kubelet turns defaultMode 0400 into 0440 with fsGroup');

    const file = join(dir, 'password');
    writeFileSync(file, 'CHANGE-ME-placeholder-password\n');
    chownSync(file, mounted.uid, mounted.gid);
    chmodSync(file, mounted.mode);
    chmodSync(dir, 0o755);
    const warned = (lines: string[]) => lines.some((l) => l.includes('password file is readable'));

    const asMounted = await startupLog(file, who);
    assert.ok(!warned(asMounted), asMounted.join('\n'));
    chmodSync(file, 0o444);
    assert.ok(warned(await startupLog(file, who)), 'the check still runs: 0444 is warned about');
  });
});
