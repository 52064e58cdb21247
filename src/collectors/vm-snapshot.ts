import type { MetricFamily, RenderedLabels } from '../exposition/index.js';
import type { XmlNode } from '../vsphere/answer-data.js';
import { epochSeconds } from '../vsphere/values.js';
import { gauge } from './collector.js';

/** One snapshot of a VM's tree. */
export interface SnapshotEntry {
  moid: string;
  name: string;
  /** Unix seconds; undefined when createTime is absent or malformed. */
  createTime: number | undefined;
}

/** What the vm collector exports per VM: how many snapshots, and when the oldest was taken. */
export interface SnapshotSummary {
  count: number;
  oldest: number | undefined;
}

// vSphere supports at most 32 snapshots in a chain; a tree is never near this many nodes.
// The bound keeps a corrupt or hostile answer from costing more than a few milliseconds.
const MAX_SNAPSHOTS = 10_000;

/**
 * Walks a VirtualMachineSnapshotInfo (`snapshot` property: rootSnapshotList, each with nested
 * childSnapshotList) iteratively, so a deep chain cannot overflow the stack; calls `visit` per
 * snapshot (pre-order) and returns the count and the oldest createTime.
 */
export function walkSnapshots(
  info: XmlNode | undefined,
  visit?: (s: SnapshotEntry) => void,
  limit = MAX_SNAPSHOTS,
): SnapshotSummary {
  const summary: SnapshotSummary = { count: 0, oldest: undefined };
  if (!info) return summary;
  const stack: XmlNode[] = [];
  pushChildren(stack, info, 'rootSnapshotList');
  while (stack.length > 0 && summary.count < limit) {
    const node = stack.pop()!;
    let moid = '';
    let name = '';
    let createTime: number | undefined;
    for (const c of node.children) {
      if (c.name === 'snapshot') moid = c.text;
      else if (c.name === 'name') name = c.text;
      else if (c.name === 'createTime') createTime = epochSeconds(c);
    }
    summary.count++;
    if (createTime !== undefined && (summary.oldest === undefined || createTime < summary.oldest))
      summary.oldest = createTime;
    visit?.({ moid, name, createTime });
    pushChildren(stack, node, 'childSnapshotList');
  }
  return summary;
}

function pushChildren(stack: XmlNode[], node: XmlNode, name: string): void {
  // Reversed so the pop order is document order.
  for (let i = node.children.length - 1; i >= 0; i--) {
    const c = node.children[i]!;
    if (c.name === name) stack.push(c);
  }
}

const ID = ['vm', 'vm_moid'] as const;

/** `vsphere_vm_snapshots`. */
export const SNAPSHOTS = gauge(
  'vsphere_vm_snapshots',
  'Number of snapshots of the VM, whole tree (snapshot.rootSnapshotList).',
  ID,
);
/** `vsphere_vm_snapshot_oldest_age_seconds`. */
export const SNAPSHOT_OLDEST_AGE = gauge(
  'vsphere_vm_snapshot_oldest_age_seconds',
  "Age of the VM's oldest snapshot in seconds: now − createTime (snapshot.rootSnapshotList[].createTime); only VMs with snapshots.",
  ID,
);
/** `vsphere_vm_snapshot_created_timestamp_seconds` (option snapshotTimestamps). */
export const SNAPSHOT_CREATED = gauge(
  'vsphere_vm_snapshot_created_timestamp_seconds',
  'Unix time each snapshot was taken (snapshot.rootSnapshotList[].createTime, whole tree).',
  [...ID, 'snapshot', 'snapshot_moid'],
);

/** Adds one VM's snapshot series; `created` only when per-snapshot timestamps are wanted. */
export function addSnapshotSeries(
  id: readonly string[],
  rendered: RenderedLabels,
  info: XmlNode | undefined,
  nowSeconds: number,
  out: { count: MetricFamily; oldestAge: MetricFamily; created?: MetricFamily },
): void {
  const created = out.created;
  const seen = created ? new Set<string>() : undefined;
  const s = walkSnapshots(
    info,
    created &&
      ((e) => {
        // A snapshot without its moref, or listed twice, would make unidentifiable or duplicate series.
        if (e.createTime === undefined || e.moid === '' || seen!.has(e.moid)) return;
        seen!.add(e.moid);
        created.add([...id, e.name, e.moid], e.createTime);
      }),
  );
  out.count.addRendered(rendered, s.count);
  if (s.count > 0 && s.oldest !== undefined)
    out.oldestAge.addRendered(rendered, Math.max(0, nowSeconds - s.oldest));
}
