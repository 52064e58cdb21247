/**
 * Reads the kustomizations under deploy/kubernetes the way `kubectl kustomize` builds them (the
 * subset they use: resources, namespace, labels, images, strategic-merge patches of maps), so
 * the tests can check the manifests without a cluster or kubectl.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { repoRoot } from './procs.js';

/** deploy/kubernetes. */
export const kubernetesDir = join(repoRoot, 'deploy', 'kubernetes');

/** A parsed Kubernetes object; only the parts the tests read are typed. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** A Pod template's container, as far as the tests read it. */
export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string }[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}

/** A Pod spec, as far as the tests read it. */
export interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: {
    name: string;
    configMap?: { name: string; defaultMode?: number };
    secret?: { secretName: string; defaultMode?: number };
  }[];
}

interface Kustomization {
  resources?: string[];
  patches?: { path: string }[];
  namespace?: string;
  labels?: { pairs: Record<string, string> }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

/**
 * Kubernetes reads manifests as YAML 1.1 (sigs.k8s.io/yaml): `defaultMode: 0400` is octal there
 * and 400 in YAML 1.2, the yaml package's default.
 */
export function parseKubeYaml(text: string, file: string): unknown[] {
  return parseAllDocuments(text, { version: '1.1' }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Strategic merge as kustomize applies it to the maps and directive-free lists used here. */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return patch;
  if (patch.$patch === 'replace')
    return Object.fromEntries(Object.entries(patch).filter(([k]) => k !== '$patch'));
  if (!isMap(base)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = strategicMerge(base[k], v);
  return out;
}

const CLUSTER_SCOPED = new Set(['Namespace']);

/** Every object a kustomization directory builds to, with the files it read. */
export function buildKustomization(dir: string, files: Set<string> = new Set()): KubeObject[] {
  const kfile = join(dir, 'kustomization.yaml');
  files.add(kfile);
  const k = parseYaml(readFileSync(kfile, 'utf8')) as Kustomization;
  let objects: KubeObject[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) objects.push(...buildKustomization(path, files));
    else {
      files.add(path);
      objects.push(...(parseKubeYaml(readFileSync(path, 'utf8'), path) as KubeObject[]));
    }
  }
  for (const p of k.patches ?? []) {
    const path = join(dir, p.path);
    files.add(path);
    for (const patch of parseKubeYaml(readFileSync(path, 'utf8'), path) as KubeObject[]) {
      const i = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (i < 0) throw new Error(`${path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      objects[i] = strategicMerge(objects[i], patch) as KubeObject;
    }
  }
  objects = objects.map((o) => structuredClone(o));
  for (const o of objects) {
    if (k.namespace !== undefined && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const { pairs } of k.labels ?? []) o.metadata.labels = { ...o.metadata.labels, ...pairs };
    for (const c of podSpec(o)?.containers ?? []) {
      const img = k.images?.find((i) => i.name === c.image);
      if (img) c.image = `${img.newName ?? img.name}${img.newTag === undefined ? '' : `:${img.newTag}`}`;
    }
  }
  return objects;
}

/** The Pod spec of a workload, or undefined for other kinds. */
export function podSpec(o: KubeObject): PodSpec | undefined {
  const spec = o.spec as { template?: { spec?: PodSpec } } | undefined;
  return ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind) ? spec?.template?.spec : undefined;
}

/** The labels of a workload's Pod template. */
export function podLabels(o: KubeObject): Record<string, string> {
  return (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
}

/** The single object of `kind` (and `name`, when given); throws when absent or repeated. */
export function one(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const hits = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (hits.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, got ${hits.length}`);
  return hits[0]!;
}

/** Every file (relative to deploy/kubernetes) with the given ending, recursively. */
export function filesUnder(dir: string, ending: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ending))
    .map((f) => join(dir, f))
    .sort();
}

/** A path relative to the repository, for messages. */
export const rel = (path: string): string => relative(repoRoot, path);

/**
 * Writes what `container` would see of its ConfigMap and Secret volumes under `root` (mountPath
 * → root + mountPath) and returns a function mapping an in-container path to the written one.
 * Paths inside written files are rewritten the same way, so a config naming
 * /etc/vsphere-exporter/secrets/password points at the written password.
 */
export function materializeVolumes(
  objects: KubeObject[],
  pod: PodSpec,
  container: Container,
  root: string,
): (path: string) => string {
  const mounts = container.volumeMounts ?? [];
  const map = (text: string): string =>
    mounts.reduce((t, m) => t.split(m.mountPath).join(join(root, m.mountPath)), text);
  for (const m of mounts) {
    const vol = pod.volumes?.find((v) => v.name === m.name);
    if (!vol) throw new Error(`volumeMount ${m.name} has no volume`);
    let data: Record<string, string>;
    if (vol.configMap) {
      data = (one(objects, 'ConfigMap', vol.configMap.name).data ?? {}) as Record<string, string>;
    } else if (vol.secret) {
      const s = one(objects, 'Secret', vol.secret.secretName);
      const b64 = (s.data ?? {}) as Record<string, string>;
      data = {
        ...Object.fromEntries(Object.entries(b64).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])),
        ...((s.stringData ?? {}) as Record<string, string>),
      };
    } else throw new Error(`volume ${vol.name}: only configMap and secret volumes are materialized`);
    for (const [key, value] of Object.entries(data)) {
      if (m.subPath !== undefined && m.subPath !== key) continue;
      const file = m.subPath !== undefined ? join(root, m.mountPath) : join(root, m.mountPath, key);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, map(value), { mode: 0o600 });
    }
  }
  return map;
}

/** Owner, group and mode of a file as kubelet leaves it in a volume. */
export interface MountedFile {
  uid: number;
  gid: number;
  mode: number;
}

/**
 * The file kubelet writes for `key` of a Secret volume, as pkg/volume does it: root-owned, mode
 * `items[].mode` or `defaultMode` (0644 when unset); with a pod fsGroup, SetVolumeOwnership
 * gives it that group and adds group read (roMask 0440: secret volumes are read-only).
 */
export function kubeletSecretFile(pod: PodSpec, volumeName: string): MountedFile {
  const vol = pod.volumes?.find((v) => v.name === volumeName);
  if (!vol?.secret) throw new Error(`${volumeName}: not a secret volume`);
  const fsGroup = pod.securityContext?.fsGroup as number | undefined;
  const mode = vol.secret.defaultMode ?? 0o644;
  return fsGroup === undefined ? { uid: 0, gid: 0, mode } : { uid: 0, gid: fsGroup, mode: mode | 0o440 };
}

/**
 * The uid and groups a container's process runs with: runAsUser/runAsGroup (container over pod,
 * else the image's USER `imageUser`), plus the pod's fsGroup and supplementalGroups.
 */
export function containerIdentity(
  pod: PodSpec,
  c: Container,
  imageUser: { uid: number; gid: number },
): { uid: number; gids: number[] } {
  const psc = pod.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const uid = Number(sc.runAsUser ?? psc.runAsUser ?? imageUser.uid);
  const gid = Number(sc.runAsGroup ?? psc.runAsGroup ?? imageUser.gid);
  const extra = [psc.fsGroup, ...((psc.supplementalGroups as number[] | undefined) ?? [])];
  return { uid, gids: [gid, ...extra.filter((g) => g !== undefined).map(Number)] };
}

/** Whether a process of `who` may read `f`, by the owner/group/other bits. */
export function mayRead(f: MountedFile, who: { uid: number; gids: readonly number[] }): boolean {
  if (who.uid === f.uid) return (f.mode & 0o400) !== 0;
  if (who.gids.includes(f.gid)) return (f.mode & 0o040) !== 0;
  return (f.mode & 0o004) !== 0;
}
