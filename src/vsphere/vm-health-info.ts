import type { XmlNode } from './answer-data.js';
import { bool, num, str, unslice } from './values.js';

// VM storage and runtime health, decoded on arrival into numbers and enums: layoutEx (one entry
// per file of the VM, tens of kilobytes of XML for a VM with snapshots) is never kept.

/** One entry of storage.perDatastoreUsage (VirtualMachineUsageOnDatastore). */
export interface DatastoreUsage {
  /** Moid of the datastore. */
  datastore: string;
  committed?: number;
  uncommitted?: number;
  unshared?: number;
}

/** The storage and runtime-health fields of a VM record (absent when vCenter did not send them). */
export interface VmHealthFields {
  /** summary.storage.committed, bytes. */
  storageCommitted?: number;
  /** summary.storage.uncommitted, bytes. */
  storageUncommitted?: number;
  /** summary.storage.unshared, bytes. */
  storageUnshared?: number;
  /** storage.perDatastoreUsage. */
  datastoreUsage?: DatastoreUsage[];
  /** Bytes on disk of the snapshot files in layoutEx (see snapshotBytes). */
  snapshotBytes?: number;
  /** runtime.consolidationNeeded. */
  consolidationNeeded?: boolean;
  /** runtime.connectionState: connected, disconnected, orphaned, inaccessible or invalid. */
  connectionState?: string;
  /** Whether runtime.question is set (the question's text is never kept). */
  questionPending?: boolean;
  /** runtime.dasVmProtection.dasProtected; absent outside an HA cluster. */
  haProtected?: boolean;
}

// A VM has at most 32 snapshots × 64 disks and a few hundred files; more is a corrupt or hostile
// answer, read no further than this so that it costs milliseconds.
const MAX_ENTRIES = 100_000;
// A datastore list longer than this is not a real VM's.
const MAX_DATASTORES = 1_000;

const childNode = (n: XmlNode, name: string): XmlNode | undefined => n.children.find((c) => c.name === name);

/** Decodes summary.storage (VirtualMachineStorageSummary) into the record. */
export function setStorageSummary(r: VmHealthFields, v: XmlNode | undefined): void {
  r.storageCommitted = v && nonNegative(num(childNode(v, 'committed')));
  r.storageUncommitted = v && nonNegative(num(childNode(v, 'uncommitted')));
  r.storageUnshared = v && nonNegative(num(childNode(v, 'unshared')));
}

/** Decodes storage.perDatastoreUsage (ArrayOfVirtualMachineUsageOnDatastore); entries without a datastore are dropped. */
export function datastoreUsage(v: XmlNode | undefined): DatastoreUsage[] | undefined {
  if (!v) return undefined;
  const out: DatastoreUsage[] = [];
  const seen = new Set<string>();
  for (const u of v.children) {
    if (out.length >= MAX_DATASTORES) break;
    const ds = str(childNode(u, 'datastore'));
    // A datastore listed twice would make duplicate series; the first listing wins.
    if (ds === undefined || ds === '' || seen.has(ds)) continue;
    seen.add(ds);
    out.push({
      datastore: ds,
      committed: nonNegative(num(childNode(u, 'committed'))),
      uncommitted: nonNegative(num(childNode(u, 'uncommitted'))),
      unshared: nonNegative(num(childNode(u, 'unshared'))),
    });
  }
  return out;
}

/**
 * Bytes on disk of a VM's snapshots, from layoutEx (VirtualMachineFileLayoutEx): the sum of
 * file[].size over the distinct files that exist because of snapshots:
 * - each snapshot[]'s dataKey (.vmsn, the snapshot's state) and memoryKey (.vmem, when memory was kept);
 * - the delta disks snapshots created: for each disk any snapshot[] lists, the units of its chains
 *   (disk[] = the running VM's, snapshot[].disk[] = each snapshot's) beyond the shortest chain any
 *   snapshot has for that disk. The units up to there (the base disk, or a linked clone's own
 *   parents) existed before the oldest snapshot and stay when every snapshot is deleted.
 * 0 for a VM without snapshots; undefined without layoutEx. Files layoutEx lists without a size
 * are not counted; delta disks left behind without a snapshot (consolidation needed) neither.
 */
export function snapshotBytes(layout: XmlNode | undefined): number | undefined {
  if (!layout) return undefined;
  const sizes = new Map<number, number>();
  const running: XmlNode[] = [];
  const snapshots: XmlNode[] = [];
  let n = 0;
  for (const c of layout.children) {
    if (++n > MAX_ENTRIES) break;
    if (c.name === 'file') {
      const key = num(childNode(c, 'key'));
      const size = nonNegative(num(childNode(c, 'size')));
      if (key !== undefined && size !== undefined && !sizes.has(key)) sizes.set(key, size);
    } else if (c.name === 'disk') running.push(c);
    else if (c.name === 'snapshot') snapshots.push(c);
  }
  if (snapshots.length === 0) return 0;
  const counted = new Set<number>();
  // Shortest chain per disk key over the snapshots: the units every snapshot shares.
  const shared = new Map<string, number>();
  const snapshotDisks: XmlNode[] = [];
  for (const s of snapshots) {
    for (const c of s.children) {
      if (c.name === 'dataKey' || c.name === 'memoryKey') {
        const key = num(c);
        if (key !== undefined && key >= 0) counted.add(key);
      } else if (c.name === 'disk') {
        snapshotDisks.push(c);
        const key = str(childNode(c, 'key'));
        if (key === undefined) continue;
        const len = chainUnits(c).length;
        shared.set(key, Math.min(len, shared.get(key) ?? len));
      }
    }
  }
  for (const d of [...running, ...snapshotDisks]) {
    const base = shared.get(str(childNode(d, 'key')) ?? '');
    if (base === undefined) continue; // a disk no snapshot knows: added since, not a snapshot's
    const units = chainUnits(d);
    for (let i = base; i < units.length; i++)
      for (const k of units[i]!.children) {
        const key = k.name === 'fileKey' ? num(k) : undefined;
        if (key !== undefined) counted.add(key);
      }
  }
  let total = 0;
  for (const key of counted) total += sizes.get(key) ?? 0;
  return total;
}

const chainUnits = (disk: XmlNode): XmlNode[] => disk.children.filter((c) => c.name === 'chain');

/** Decodes runtime.dasVmProtection (ClusterDasProtectedVmInfo… dasProtected). */
export function dasProtected(v: XmlNode | undefined): boolean | undefined {
  return v && bool(childNode(v, 'dasProtected'));
}

/** runtime.connectionState as an enum value (copied off the answer); anything but a short word is dropped. */
export function connectionState(v: XmlNode | undefined): string | undefined {
  const s = v?.text.trim();
  // It becomes a label value: a newer enum value is shown, garbage is not.
  return s && /^[A-Za-z]{1,40}$/.test(s) ? unslice(s) : undefined;
}

type Field = (r: VmHealthFields, v: XmlNode | undefined) => void;

/**
 * The decoders of the vm collector's storage and health properties, by property path. A Map:
 * a path is a string from vCenter and must never find one of Object.prototype's members.
 */
export const VM_HEALTH_FIELDS: ReadonlyMap<string, Field> = new Map<string, Field>([
  ['summary.storage', setStorageSummary],
  ['storage.perDatastoreUsage', (r, v) => void (r.datastoreUsage = datastoreUsage(v))],
  ['layoutEx', (r, v) => void (r.snapshotBytes = snapshotBytes(v))],
  ['runtime.consolidationNeeded', (r, v) => void (r.consolidationNeeded = bool(v))],
  ['runtime.connectionState', (r, v) => void (r.connectionState = connectionState(v))],
  // Unset when no question waits: absence is the answer "no", not a missing value.
  ['runtime.question', (r, v) => void (r.questionPending = v !== undefined)],
  ['runtime.dasVmProtection', (r, v) => void (r.haProtected = dasProtected(v))],
]);

/** The VM properties the vm collector reads for storage and runtime health. */
export const VM_HEALTH_PATHS: readonly string[] = [...VM_HEALTH_FIELDS.keys()];

function nonNegative(n: number | undefined): number | undefined {
  return n !== undefined && n >= 0 ? n : undefined;
}
