import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { COLLECTOR_NAMES } from '../../../src/model/names.js';
import { HELP_TEXT, loadConfig, readPassword } from '../../../src/config/load.js';
import {
  buildKustomization,
  filesUnder,
  kubernetesDir,
  materializeVolumes,
  one,
  parseKubeYaml,
  podLabels,
  podSpec,
  rel,
  type Container,
  type KubeObject,
} from '../../harness/kube-manifests.js';
import { repoRoot } from '../../harness/procs.js';

const singleDir = kubernetesDir;
const multiDir = join(kubernetesDir, 'multi-target');
const read = new Set<string>();
const builds = { single: buildKustomization(singleDir, read), multi: buildKustomization(multiDir, read) };
const tmp = mkdtempSync(join(tmpdir(), 'vsx-kube-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The code's defaults, as loadConfig resolves them with nothing but the required keys. */
const defaults = await (async () => {
  const r = await loadConfig([], {
    VSPHERE_URL: 'https://vc.invalid',
    VSPHERE_USER: 'u',
    VSPHERE_PASSWORD: 'p',
  });
  assert.equal(r.kind, 'run');
  return r.config;
})();
const defaultPort = Number(/:(\d+)$/.exec(defaults.web.listenAddress)?.[1]);

/** Paths registered in src/app.ts, plus the default telemetry path it registers from config. */
const routes = new Set([
  ...[...readFileSync(join(repoRoot, 'src', 'app.ts'), 'utf8').matchAll(/server\.get\(\s*'([^']+)'/g)].map(
    (m) => m[1]!,
  ),
  defaults.web.telemetryPath,
]);

/** Flag names documented in HELP_TEXT (the `--[no-]collector.<name>` line expanded). */
const helpFlags = new Set(
  HELP_TEXT.split('\n')
    .filter((l) => /^\s+(-h, )?--[a-z]/.test(l) && !l.includes('[no-]'))
    .map((l) => /--([a-z][\w.-]*)/.exec(l)![1]!),
);
for (const n of COLLECTOR_NAMES) helpFlags.add(`collector.${n}`).add(`no-collector.${n}`);

const srcText = filesUnder(join(repoRoot, 'src'), '.ts')
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');

/** The exporter's own containers (the image built from the Containerfile). */
function exporterContainers(objects: KubeObject[]): { workload: KubeObject; c: Container }[] {
  return objects.flatMap((o) => (podSpec(o)?.containers ?? []).map((c) => ({ workload: o, c })));
}

const seconds = (d: string): number => {
  const m = /^(\d+)(s|m)$/.exec(d);
  assert.ok(m, `duration ${d}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
};

describe('deploy/kubernetes', () => {
  it('every manifest parses and is used by a kustomization', () => {
    for (const f of filesUnder(kubernetesDir, '.yaml')) {
      assert.ok(parseKubeYaml(readFileSync(f, 'utf8'), f).length > 0, rel(f));
      assert.ok(read.has(f), `${rel(f)} is not referenced by any kustomization.yaml`);
    }
    for (const objects of Object.values(builds)) {
      for (const o of objects) assert.ok(o.apiVersion && o.kind && o.metadata.name, JSON.stringify(o));
      for (const kind of ['Deployment', 'Service', 'Secret', 'ConfigMap', 'NetworkPolicy', 'ServiceMonitor'])
        one(objects, kind);
    }
    assert.equal(one(builds.single, 'ServiceMonitor').apiVersion, 'monitoring.coreos.com/v1');
  });

  it('kubectl kustomize builds the same objects as the test reads', async (t) => {
    const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
    if (!kubectl) return t.skip('kubectl is not installed; the test reads the kustomizations itself');
    for (const [name, dir] of [
      ['single', singleDir],
      ['multi', multiDir],
    ] as const) {
      const out = await new Promise<string>((resolve, reject) =>
        execFile(kubectl, ['kustomize', dir], { timeout: 60_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`kubectl kustomize ${rel(dir)}: ${stderr}`)) : resolve(stdout),
        ),
      );
      const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
      const sort = (objs: KubeObject[]) => [...objs].sort((a, b) => key(a).localeCompare(key(b)));
      assert.deepEqual(sort(parseKubeYaml(out, 'kubectl') as KubeObject[]), sort(builds[name]), name);
    }
  });

  for (const [name, objects] of Object.entries(builds)) {
    describe(`${name} build`, () => {
      const containers = exporterContainers(objects);

      it('containers agree with the code: port, probe routes, flags, environment', () => {
        assert.ok(containers.length > 0);
        for (const { c } of containers) {
          assert.deepEqual(
            c.ports?.map((p) => p.containerPort),
            [defaultPort],
          );
          for (const probe of [c.readinessProbe, c.livenessProbe]) {
            assert.ok(probe?.httpGet, `${c.name}: probe`);
            assert.ok(routes.has(probe.httpGet.path), `${probe.httpGet.path} is not a route in src/app.ts`);
            assert.ok(
              c.ports?.some((p) => p.name === probe.httpGet!.port || p.containerPort === probe.httpGet!.port),
            );
          }
          assert.equal(c.readinessProbe!.httpGet!.path, '/-/ready');
          assert.equal(c.livenessProbe!.httpGet!.path, '/-/healthy');
          assert.equal(c.command, undefined, 'the image entrypoint (tini + dist/main.js) is kept');
          for (const a of c.args ?? []) {
            const flag = /^--([^=]+)/.exec(a)?.[1];
            assert.ok(flag !== undefined && helpFlags.has(flag), `${a}: not a flag in HELP_TEXT`);
          }
          for (const e of c.env ?? []) {
            assert.ok(srcText.includes(`'${e.name}'`) || srcText.includes(`env.${e.name}`), `env ${e.name}`);
          }
        }
      });

      it('the mounted config, flags and Secret load with the exporter`s own loadConfig', async () => {
        for (const { workload, c } of containers) {
          const root = mkdtempSync(join(tmp, `${name}-`));
          const map = materializeVolumes(objects, podSpec(workload)!, c, root);
          const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, map(e.value ?? '')]));
          const r = await loadConfig((c.args ?? []).map(map), env);
          assert.equal(r.kind, 'run');
          const { config } = r;
          assert.ok(config.configFile?.startsWith(root), 'config comes from the mounted ConfigMap');
          assert.equal(Number(/:(\d+)$/.exec(config.web.listenAddress)?.[1]), c.ports![0]!.containerPort);
          for (const t of config.targets) {
            assert.ok(
              t.vsphere.passwordFile?.startsWith(root),
              `${t.name}: password from the mounted Secret`,
            );
            assert.match((await readPassword(t.vsphere, {})).reveal(), /^CHANGE-ME-placeholder/);
          }
          // Prometheus' scrapeTimeout - 0.5 s is the deadline only if max_timeout_seconds does not cap it lower.
          const timeouts = objects.flatMap((o) =>
            o.kind === 'ServiceMonitor'
              ? (o.spec as { endpoints: { scrapeTimeout: string; interval: string }[] }).endpoints
              : o.kind === 'ScrapeConfig'
                ? [
                    {
                      scrapeTimeout: (o.spec as { scrapeTimeout: string }).scrapeTimeout,
                      interval: (o.spec as { scrapeInterval: string }).scrapeInterval,
                    },
                  ]
                : [],
          );
          assert.ok(timeouts.length > 0);
          for (const e of timeouts) {
            assert.ok(seconds(e.scrapeTimeout) < seconds(e.interval), 'timeout below the interval');
            assert.ok(seconds(e.interval) >= 20, "no shorter than vCenter's 20 s realtime sample");
            assert.ok(
              config.scrape.maxTimeoutSeconds >=
                seconds(e.scrapeTimeout) - config.scrape.timeoutOffsetSeconds,
            );
          }
          if (name === 'multi') {
            const sc = one(objects, 'ScrapeConfig').spec as {
              metricsPath: string;
              staticConfigs: { targets: string[] }[];
            };
            assert.ok(routes.has(sc.metricsPath));
            assert.deepEqual(
              sc.staticConfigs.flatMap((s) => s.targets),
              config.targets.map((t) => t.name),
              'scraped targets are the configured names',
            );
            assert.equal(config.defaultTarget, undefined);
          } else {
            assert.deepEqual(
              config.targets.map((t) => t.name),
              ['default'],
            );
          }
        }
      });

      it('every container runs hardened, with resources and probes', () => {
        for (const { workload, c } of containers) {
          const pod = podSpec(workload)!;
          const psc = pod.securityContext ?? {};
          const sc = c.securityContext ?? {};
          assert.equal(sc.runAsNonRoot ?? psc.runAsNonRoot, true);
          assert.ok(Number(sc.runAsUser ?? psc.runAsUser) > 0, 'numeric non-root uid');
          assert.equal(sc.readOnlyRootFilesystem, true);
          assert.equal(sc.allowPrivilegeEscalation, false);
          assert.deepEqual((sc.capabilities as { drop: string[] }).drop, ['ALL']);
          const seccomp = (sc.seccompProfile ?? psc.seccompProfile) as { type: string };
          assert.equal(seccomp.type, 'RuntimeDefault');
          for (const k of ['requests', 'limits'] as const) {
            assert.ok(c.resources?.[k]?.cpu && c.resources[k].memory, `${c.name}: resources.${k}`);
          }
          assert.ok(c.readinessProbe && c.livenessProbe);
          for (const v of pod.volumes ?? []) {
            if (!v.secret) continue;
            assert.equal(v.secret.defaultMode, 0o400, `${v.name}: defaultMode 0400`);
            // Kubelet makes secret files readable by fsGroup; without it uid 65532 could not read 0400 root files.
            assert.equal(psc.fsGroup, psc.runAsGroup ?? psc.runAsUser);
          }
          for (const m of c.volumeMounts ?? []) assert.equal(m.readOnly, true, m.name);
          assert.equal(pod.containers.length, 1);
          assert.equal((workload.spec as { replicas: number }).replicas, 1, 'one session per exporter');
        }
      });

      it('Service, ServiceMonitor and NetworkPolicy select the exporter and its port', () => {
        const deploy = one(objects, 'Deployment');
        const labels = podLabels(deploy);
        const matches = (sel: Record<string, string>) =>
          Object.entries(sel).every(([k, v]) => labels[k] === v);
        const svc = one(objects, 'Service');
        const svcSpec = svc.spec as {
          selector: Record<string, string>;
          ports: { name: string; port: number; targetPort: string }[];
        };
        assert.ok(matches(svcSpec.selector));
        const port = podSpec(deploy)!.containers[0]!.ports![0]!;
        assert.deepEqual(
          svcSpec.ports.map((p) => [p.name, p.port, p.targetPort]),
          [[port.name, defaultPort, port.name]],
        );
        const sm = one(objects, 'ServiceMonitor').spec as {
          selector: { matchLabels: Record<string, string> };
          endpoints: { port: string; path: string }[];
        };
        const svcLabels = svc.metadata.labels ?? {};
        assert.ok(Object.entries(sm.selector.matchLabels).every(([k, v]) => svcLabels[k] === v));
        for (const e of sm.endpoints) {
          assert.equal(e.port, port.name);
          assert.ok(routes.has(e.path), e.path);
        }
        const np = one(objects, 'NetworkPolicy').spec as {
          podSelector: { matchLabels: Record<string, string> };
          policyTypes: string[];
          ingress: {
            from: { namespaceSelector?: { matchLabels: Record<string, string> } }[];
            ports: { port: number }[];
          }[];
          egress: { ports: { port: number; protocol: string }[] }[];
        };
        assert.ok(matches(np.podSelector.matchLabels));
        assert.deepEqual(np.policyTypes, ['Ingress', 'Egress']);
        assert.deepEqual(
          np.ingress.flatMap((r) => r.ports.map((p) => p.port)),
          [defaultPort],
        );
        for (const r of np.ingress) {
          assert.deepEqual(
            r.from.map((f) => f.namespaceSelector?.matchLabels['kubernetes.io/metadata.name']),
            ['monitoring'],
          );
        }
        const egress = np.egress.flatMap((r) => r.ports.map((p) => `${p.protocol}/${p.port}`)).sort();
        assert.deepEqual(egress, ['TCP/443', 'TCP/53', 'UDP/53']);
      });

      it('the example Secret holds placeholders only', () => {
        const s = one(objects, 'Secret');
        assert.equal(s.data, undefined);
        for (const v of Object.values(s.stringData as Record<string, string>)) assert.match(v, /^CHANGE-ME-/);
      });
    });
  }

  it('multi-target: plain Prometheus example maps __address__ -> __param_target -> instance', () => {
    const prom = parseYaml(readFileSync(join(multiDir, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: {
        job_name: string;
        metrics_path?: string;
        static_configs: { targets: string[] }[];
        relabel_configs?: { source_labels?: string[]; target_label: string; replacement?: string }[];
      }[];
    };
    const probe = prom.scrape_configs.find((s) => s.metrics_path === '/probe');
    assert.ok(probe && routes.has(probe.metrics_path!));
    const sc = one(builds.multi, 'ScrapeConfig').spec as { staticConfigs: { targets: string[] }[] };
    assert.deepEqual(
      probe.static_configs.flatMap((s) => s.targets),
      sc.staticConfigs.flatMap((s) => s.targets),
    );
    const chain = probe.relabel_configs!.map((r) => [r.source_labels?.join(','), r.target_label]);
    assert.deepEqual(chain.slice(0, 3), [
      ['__address__', '__param_target'],
      ['__param_target', 'instance'],
      [undefined, '__address__'],
    ]);
    const svc = one(builds.multi, 'Service');
    const address = `${svc.metadata.name}.${svc.metadata.namespace}.svc:${defaultPort}`;
    assert.equal(probe.relabel_configs![2]!.replacement, address);
    const relabelings = (
      one(builds.multi, 'ScrapeConfig').spec as { relabelings: { replacement?: string }[] }
    ).relabelings;
    assert.ok(
      relabelings.some((r) => r.replacement === address),
      'ScrapeConfig sends to the Service',
    );
  });
});
