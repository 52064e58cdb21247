import type { MetricFamily } from '../exposition/index.js';
import { child, type XmlNode } from '../vsphere/answer-data.js';
import { bool, num } from '../vsphere/values.js';
import { gauge } from './collector.js';
import { addStateSet } from './perf-families.js';

const ID = ['cluster', 'cluster_moid'] as const;
const g = (name: string, help: string, extra: readonly string[] = []) =>
  gauge(`vsphere_cluster_${name}`, help, [...ID, ...extra]);

const AC_ENABLED_PATH = 'configuration.dasConfig.admissionControlEnabled';
const AC_POLICY_PATH = 'configuration.dasConfig.admissionControlPolicy';
/**
 * Cluster paths the health families read besides `summary`. Through `configuration` (ClusterConfigInfo),
 * not `configurationEx`: vCenter 8 answers InvalidProperty to a path into configurationEx's members
 * (declared as ComputeResourceConfigInfo), and reading configurationEx whole brings every per-VM override.
 */
export const CLUSTER_HEALTH_PATHS = [AC_ENABLED_PATH, AC_POLICY_PATH] as const;

// summary.numVmsPerDrsScoreBucket has five entries, for these DRS score ranges (vim25 7.0).
const DRS_BUCKETS = ['0-20', '21-40', '41-60', '61-80', '81-100'] as const;
// The admission control policy subtype (xsi:type) → a bounded label value.
const POLICIES: ReadonlyMap<string, string> = new Map([
  ['ClusterFailoverLevelAdmissionControlPolicy', 'host_failures'],
  ['ClusterFailoverResourcesAdmissionControlPolicy', 'resource_percentage'],
  ['ClusterFailoverHostAdmissionControlPolicy', 'failover_hosts'],
]);
const POLICY_STATES = [...POLICIES.values()];

const DRS_SCORE = g(
  'drs_score_ratio',
  'DRS score of the cluster, 0..1: how well its VMs get the resources they demand (summary.drsScore, percent; vSphere 7+ with DRS on).',
);
const DRS_BUCKET = g(
  'drs_score_bucket_vms',
  'VMs of the cluster per VM DRS score range in percent (summary.numVmsPerDrsScoreBucket; vSphere 7+ with DRS on).',
  ['bucket'],
);
const AC_ENABLED = g(
  'ha_admission_control_enabled',
  `1 when vSphere HA admission control is enabled (${AC_ENABLED_PATH}).`,
);
const AC_POLICY = g(
  'ha_admission_control_policy',
  `HA admission control policy: 1 for the configured kind (${AC_POLICY_PATH} type: host_failures = ` +
    'FailoverLevel/slot policy, resource_percentage = FailoverResources, failover_hosts = FailoverHost).',
  ['policy'],
);
const FAILOVER_CURRENT = g(
  'ha_current_failover_level',
  'Host failures the cluster can tolerate now without losing failover capacity (summary.currentFailoverLevel).',
);
const FAILOVER_CONFIGURED = g(
  'ha_configured_failover_level',
  `Host failures the HA admission control policy is set to tolerate (${AC_POLICY_PATH}.failoverLevel).`,
);
const CPU_AVAILABLE = g(
  'ha_failover_cpu_available_ratio',
  'Share of cluster CPU free for failover now, 0..1 (summary.admissionControlInfo.currentCpuFailoverResourcesPercent; resource_percentage policy).',
);
const MEM_AVAILABLE = g(
  'ha_failover_memory_available_ratio',
  'Share of cluster memory free for failover now, 0..1 (summary.admissionControlInfo.currentMemoryFailoverResourcesPercent; resource_percentage policy).',
);
const CPU_RESERVED = g(
  'ha_failover_cpu_reserved_ratio',
  `Share of cluster CPU the policy reserves for failover, 0..1 (${AC_POLICY_PATH}.cpuFailoverResourcesPercent).`,
);
const MEM_RESERVED = g(
  'ha_failover_memory_reserved_ratio',
  `Share of cluster memory the policy reserves for failover, 0..1 (${AC_POLICY_PATH}.memoryFailoverResourcesPercent).`,
);

/** The cluster health families (DRS score, HA admission control and failover capacity). */
export const CLUSTER_HEALTH_FAMILIES = [
  DRS_SCORE,
  DRS_BUCKET,
  AC_ENABLED,
  AC_POLICY,
  FAILOVER_CURRENT,
  FAILOVER_CONFIGURED,
  CPU_AVAILABLE,
  MEM_AVAILABLE,
  CPU_RESERVED,
  MEM_RESERVED,
];

/** Adds one cluster's health series from its summary and configuration paths; absent values add nothing. */
export function addClusterHealth(
  fam: (d: (typeof CLUSTER_HEALTH_FAMILIES)[number]) => MetricFamily,
  id: readonly string[],
  props: ReadonlyMap<string, XmlNode>,
): void {
  const summary = props.get('summary');
  const percent = (d: (typeof CLUSTER_HEALTH_FAMILIES)[number], v: number | undefined): void => {
    if (v !== undefined) fam(d).add(id, v / 100);
  };
  if (summary) {
    percent(DRS_SCORE, num(child(summary, 'drsScore')));
    const buckets = summary.children.filter((c) => c.name === 'numVmsPerDrsScoreBucket');
    DRS_BUCKETS.forEach((b, i) => {
      const n = num(buckets[i]);
      if (n !== undefined) fam(DRS_BUCKET).add([...id, b], n);
    });
    const level = num(child(summary, 'currentFailoverLevel'));
    if (level !== undefined) fam(FAILOVER_CURRENT).add(id, level);
    const info = child(summary, 'admissionControlInfo');
    if (info) {
      percent(CPU_AVAILABLE, num(child(info, 'currentCpuFailoverResourcesPercent')));
      percent(MEM_AVAILABLE, num(child(info, 'currentMemoryFailoverResourcesPercent')));
    }
  }
  const enabled = bool(props.get(AC_ENABLED_PATH));
  if (enabled !== undefined) fam(AC_ENABLED).add(id, enabled ? 1 : 0);
  const policy = props.get(AC_POLICY_PATH);
  // An empty element is what vcsim sends for an unset data object: no policy, no series.
  if (policy && (policy.attrs.type !== undefined || policy.children.length > 0)) {
    const kind = POLICIES.get(policy.attrs.type ?? '') ?? 'other';
    addStateSet(fam(AC_POLICY), id, POLICY_STATES, kind);
    const configured = num(child(policy, 'failoverLevel'));
    if (configured !== undefined) fam(FAILOVER_CONFIGURED).add(id, configured);
    percent(CPU_RESERVED, num(child(policy, 'cpuFailoverResourcesPercent')));
    percent(MEM_RESERVED, num(child(policy, 'memoryFailoverResourcesPercent')));
  }
}
