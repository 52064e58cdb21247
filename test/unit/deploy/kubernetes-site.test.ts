/**
 * What an operator meets deploying deploy/kubernetes as shipped: the password file's mode as
 * kubelet leaves it must pass the exporter's own permission check, and every value that depends
 * on the site must be a marked placeholder in the files README.md "Kubernetes" walks through.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { passwordFileExposure } from '../../../src/config/password-file-mode.js';
import {
  buildKustomization,
  containerIdentity,
  kubeletSecretFile,
  kubernetesDir,
  mayRead,
  one,
  podSpec,
  rel,
  type KubeObject,
} from '../../harness/kube-manifests.js';
import { repoRoot } from '../../harness/procs.js';

const multiDir = join(kubernetesDir, 'multi-target');
const builds: Record<string, { objects: KubeObject[]; siteFiles: string[] }> = {
  single: {
    objects: buildKustomization(kubernetesDir),
    siteFiles: ['site-patch.yaml', 'kustomization.yaml'].map((f) => join(kubernetesDir, f)),
  },
  multi: {
    objects: buildKustomization(multiDir),
    siteFiles: ['networkpolicy-patch.yaml', 'scrapeconfig.yaml', 'kustomization.yaml'].map((f) =>
      join(multiDir, f),
    ),
  },
};

/** The image's USER uid:gid, which runs the container unless the manifest says otherwise. */
const imageUser = (() => {
  const m = /^USER (\d+):(\d+)$/m.exec(readFileSync(join(repoRoot, 'Containerfile'), 'utf8'));
  assert.ok(m, 'Containerfile sets a numeric USER uid:gid');
  return { uid: Number(m[1]), gid: Number(m[2]) };
})();

for (const [name, { objects, siteFiles }] of Object.entries(builds)) {
  describe(`deploy/kubernetes ${name} build, as a site deploys it`, () => {
    it('the password file, as kubelet mounts the Secret, is readable by the exporter and draws no warning', () => {
      const pod = podSpec(one(objects, 'Deployment'))!;
      const who = containerIdentity(pod, pod.containers[0]!, imageUser);
      const secretVolumes = (pod.volumes ?? []).filter((v) => v.secret);
      assert.ok(secretVolumes.length > 0);
      for (const v of secretVolumes) {
        const file = kubeletSecretFile(pod, v.name);
        const what = `${v.name}: 0${file.mode.toString(8)} ${file.uid}:${file.gid}`;
        assert.ok(
          mayRead(file, who),
          `${what} is unreadable for uid ${who.uid} (groups ${who.gids.join(',')})`,
        );
        assert.equal(file.mode & 0o007, 0, `${what} is readable by others`);
        // src/target.ts warns at every start when this is not 0, and the operator could not fix it.
        assert.equal(passwordFileExposure(file, who), 0, what);
      }
    });

    it('every site-specific value is set in the files the README walks through, marked CHANGE-ME', () => {
      const marked = siteFiles
        .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
        .filter((l) => l.includes('# CHANGE-ME'))
        .map((l) => l.replace(/#.*/, '').trim().replace(/^- /, ''));
      const isMarked = (key: string, value: unknown) =>
        assert.ok(
          marked.includes(`${key}: ${String(value)}`),
          `${key}: ${String(value)} is not a CHANGE-ME line of ${siteFiles.map(rel).join(', ')}`,
        );
      const np = one(objects, 'NetworkPolicy').spec as {
        ingress: { from: { namespaceSelector: { matchLabels: Record<string, string> } }[] }[];
        egress: { to: { ipBlock?: { cidr: string } }[]; ports: { port: number }[] }[];
      };
      const nsKey = 'kubernetes.io/metadata.name';
      for (const r of np.ingress)
        for (const f of r.from) isMarked(nsKey, f.namespaceSelector.matchLabels[nsKey]);
      const vcenterRules = np.egress.filter((r) => r.to.some((t) => t.ipBlock));
      assert.ok(vcenterRules.length > 0);
      for (const r of vcenterRules) {
        for (const t of r.to) isMarked('cidr', t.ipBlock!.cidr);
        for (const p of r.ports) isMarked('port', p.port);
      }
      // The vCenter egress must allow the port of every configured URL.
      const cm = parseYaml((one(objects, 'ConfigMap').data as Record<string, string>)['config.yml']!) as {
        vsphere?: { url: string };
        targets?: { url: string }[];
      };
      const urls = [cm.vsphere?.url, ...(cm.targets ?? []).map((t) => t.url)].filter((u) => u !== undefined);
      assert.ok(urls.length > 0);
      const egressPorts = vcenterRules.flatMap((r) => r.ports.map((p) => p.port));
      for (const u of urls) {
        const url = new URL(u);
        const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
        assert.ok(egressPorts.includes(port), `${u}: port ${port} is not allowed by the NetworkPolicy`);
      }
      const image = podSpec(one(objects, 'Deployment'))!.containers[0]!.image;
      isMarked('newName', image.replace(/:[^:/]+$/, ''));
      // kube-prometheus-stack selects by `release:`; what Prometheus discovers must carry one.
      const scrape = one(objects, name === 'multi' ? 'ScrapeConfig' : 'ServiceMonitor');
      assert.ok(scrape.metadata.labels?.release, `${scrape.kind} has no release label`);
      isMarked('release', scrape.metadata.labels.release);
    });
  });
}
