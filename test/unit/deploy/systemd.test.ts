import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HELP_TEXT, loadConfig } from '../../../src/config/load.js';
import { buildKustomization, kubernetesDir, one } from '../../harness/kube-manifests.js';
import { repoRoot } from '../../harness/procs.js';

const unitPath = join(repoRoot, 'deploy', 'systemd', 'vsphere-exporter.service');
const text = readFileSync(unitPath, 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'vsx-systemd-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** `Key=value` lines of one section, in order (a key may repeat). */
function section(name: string): [string, string][] {
  const body = text.split(/^\[/m).find((s) => s.startsWith(`${name}]`)) ?? '';
  return body
    .split('\n')
    .slice(1)
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}
const service = new Map(section('Service'));
const execStart = service.get('ExecStart')!.split(/\s+/);

function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 60_000 }, (e, out, err) =>
      resolve({ code: typeof e?.code === 'number' ? e.code : e ? -1 : 0, out, err }),
    ),
  );
}

describe('deploy/systemd/vsphere-exporter.service', () => {
  it('is hardened as required, without MemoryDenyWriteExecute (V8 JIT)', () => {
    const want: Record<string, string> = {
      DynamicUser: 'yes',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectKernelLogs: 'yes',
      ProtectControlGroups: 'yes',
      RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
      CapabilityBoundingSet: '',
      SystemCallFilter: '@system-service',
    };
    for (const [k, v] of Object.entries(want)) assert.equal(service.get(k), v, k);
    assert.equal(service.has('MemoryDenyWriteExecute'), false);
    assert.match(text, /# MemoryDenyWriteExecute= is deliberately NOT set: V8's JIT/);
  });

  it('starts the package bin with flags and environment the exporter knows', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    assert.ok(
      Object.keys(pkg.bin).includes(execStart[0]!.split('/').pop()!),
      'ExecStart runs the package bin',
    );
    const args = execStart.slice(1);
    for (const a of args) assert.ok(HELP_TEXT.includes(`  ${a.split('=')[0]} `), `${a}: not in HELP_TEXT`);
    const env = Object.fromEntries(
      section('Service')
        .filter(([k]) => k === 'Environment')
        .map(([, v]) => v.split('=', 2) as [string, string]),
    );
    for (const name of Object.keys(env)) assert.match(HELP_TEXT, new RegExp(`^  ${name} `, 'm'), name);
    // %d is $CREDENTIALS_DIRECTORY; LoadCredential=<name>:<file> puts <name> there.
    const [credName] = service.get('LoadCredential')!.split(':');
    assert.equal(env.VSPHERE_PASSWORD_FILE, `%d/${credName}`);

    // The unit's command line and environment, with a config like the Kubernetes example's, load.
    const credDir = join(tmp, 'credentials');
    mkdirSync(credDir);
    writeFileSync(join(credDir, credName!), 'placeholder\n');
    const cm = one(buildKustomization(kubernetesDir), 'ConfigMap').data as Record<string, string>;
    const configPath = args.find((a) => a.startsWith('--config.file='))!.split('=')[1]!;
    const localConfig = join(tmp, 'config.yml');
    writeFileSync(localConfig, cm['config.yml']!.replace(/^\s+password_file:.*$/m, ''));
    const localEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('%d', credDir)]));
    const r = await loadConfig(
      args.map((a) => a.replace(configPath, localConfig)),
      localEnv,
    );
    assert.equal(r.kind, 'run');
    assert.equal(r.config.targets[0]!.vsphere.passwordFile, join(credDir, credName!));
  });

  it('passes systemd-analyze verify and security', async (t) => {
    if (!existsSync('/usr/bin/systemd-analyze')) return t.skip('systemd-analyze is not installed');
    // verify insists that ExecStart's binary exists: point it at a stub with the same name.
    const stub = join(tmp, 'bin', 'vsphere-exporter');
    mkdirSync(join(tmp, 'bin'));
    writeFileSync(stub, '#!/bin/sh\nexit 0\n');
    chmodSync(stub, 0o755);
    const unit = join(tmp, 'vsphere-exporter.service');
    writeFileSync(unit, text.replace(execStart[0]!, stub));
    const v = await run('systemd-analyze', ['verify', unit]);
    assert.equal(v.code, 0, v.err);
    assert.equal(v.err.trim(), '', 'no warnings (unknown keys, bad values)');
    // --threshold is in tenths of the printed exposure level: fail above 2.0 ("OK" ends at 2.0).
    const s = await run('systemd-analyze', ['security', '--offline=yes', '--threshold=20', unit]);
    assert.equal(s.code, 0, s.out.split('\n').slice(-3).join('\n'));
    assert.match(s.out, /Overall exposure level for vsphere-exporter\.service: 1\.\d OK/);
  });
});
