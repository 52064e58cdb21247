import type { MetricFamily, RenderedLabels } from '../exposition/index.js';
import type { PropertySpec } from '../vsphere/answer-data.js';
import type { Inventory, VmObject } from '../vsphere/inventory.js';
import { VM_HEALTH_PATHS } from '../vsphere/vm-health-info.js';
import { family, gauge, type FamilyDef } from './collector.js';

const ID = ['vm', 'vm_moid'] as const;
const DS = [...ID, 'datastore', 'datastore_moid'] as const;

const STORAGE_COMMITTED = gauge(
  'vsphere_vm_storage_committed_bytes',
  'Bytes of datastore space the VM uses, all its files (summary.storage.committed).',
  ID,
);
const STORAGE_UNCOMMITTED = gauge(
  'vsphere_vm_storage_uncommitted_bytes',
  'Bytes the VM may still claim: provisioned but not yet written thin disks (summary.storage.uncommitted).',
  ID,
);
const STORAGE_UNSHARED = gauge(
  'vsphere_vm_storage_unshared_bytes',
  'Bytes used only by this VM, not shared with another (summary.storage.unshared).',
  ID,
);
const DS_COMMITTED = gauge(
  'vsphere_vm_datastore_committed_bytes',
  "Bytes the VM uses on each datastore it has files on (storage.perDatastoreUsage[].committed); datastore is '' when its name was not read. Option vm.datastore_usage.",
  DS,
);
const DS_UNCOMMITTED = gauge(
  'vsphere_vm_datastore_uncommitted_bytes',
  'Bytes the VM may still claim on each datastore (storage.perDatastoreUsage[].uncommitted).',
  DS,
);
const DS_UNSHARED = gauge(
  'vsphere_vm_datastore_unshared_bytes',
  'Bytes used only by this VM on each datastore (storage.perDatastoreUsage[].unshared).',
  DS,
);
const SNAPSHOT_SIZE = gauge(
  'vsphere_vm_snapshot_size_bytes',
  "Bytes on disk of the VM's snapshots (layoutEx.file[].size): every snapshot's .vmsn/.vmem files and the delta disks snapshots created (disk chain units beyond the shortest chain of any snapshot); 0 without snapshots.",
  ID,
);
const CONSOLIDATION = gauge(
  'vsphere_vm_consolidation_needed',
  'Whether the VM has delta disks left to consolidate, 1 or 0 (runtime.consolidationNeeded).',
  ID,
);
const CONNECTION = gauge(
  'vsphere_vm_connection_state',
  'Connection state of the VM (runtime.connectionState): one series, 1, labelled with the current state.',
  [...ID, 'state'],
);
const QUESTION = gauge(
  'vsphere_vm_question_pending',
  'Whether the VM waits for an answer to a question and is blocked until then, 1 or 0 (runtime.question set).',
  ID,
);
const HA_PROTECTED = gauge(
  'vsphere_vm_ha_protected',
  'Whether vSphere HA protects the VM, 1 or 0 (runtime.dasVmProtection.dasProtected); only VMs in an HA cluster.',
  ID,
);

/** The storage and runtime-health families of the vm collector. */
export const VM_HEALTH_FAMILIES: readonly FamilyDef[] = [
  STORAGE_COMMITTED,
  STORAGE_UNCOMMITTED,
  STORAGE_UNSHARED,
  DS_COMMITTED,
  DS_UNCOMMITTED,
  DS_UNSHARED,
  SNAPSHOT_SIZE,
  CONSOLIDATION,
  CONNECTION,
  QUESTION,
  HA_PROTECTED,
];

/** What the vm collector reads for these families: VM properties, and datastore names for the labels. */
export const VM_HEALTH_PROPERTIES: readonly PropertySpec[] = [
  { type: 'VirtualMachine', pathSet: VM_HEALTH_PATHS },
  { type: 'Datastore', pathSet: ['name'] },
];

/** The families of one scrape, filled VM by VM and emitted together. */
export class VmHealthSeries {
  private readonly committed = family(STORAGE_COMMITTED);
  private readonly uncommitted = family(STORAGE_UNCOMMITTED);
  private readonly unshared = family(STORAGE_UNSHARED);
  private readonly dsCommitted = family(DS_COMMITTED);
  private readonly dsUncommitted = family(DS_UNCOMMITTED);
  private readonly dsUnshared = family(DS_UNSHARED);
  private readonly snapshotSize = family(SNAPSHOT_SIZE);
  private readonly consolidation = family(CONSOLIDATION);
  private readonly connection = family(CONNECTION);
  private readonly question = family(QUESTION);
  private readonly ha = family(HA_PROTECTED);

  constructor(
    private readonly inventory: Inventory,
    private readonly perDatastore: boolean,
  ) {}

  /** Adds one VM's series; a property vCenter did not send gives no series. */
  add(vm: VmObject, id: readonly string[], rendered: RenderedLabels): void {
    const put = (f: MetricFamily, v: number | boolean | undefined): void => {
      if (v !== undefined) f.addRendered(rendered, typeof v === 'boolean' ? Number(v) : v);
    };
    put(this.committed, vm.storageCommitted);
    put(this.uncommitted, vm.storageUncommitted);
    put(this.unshared, vm.storageUnshared);
    for (const u of this.perDatastore ? (vm.datastoreUsage ?? []) : []) {
      const labels = [...id, this.inventory.tree.get(u.datastore)?.name ?? '', u.datastore];
      if (u.committed !== undefined) this.dsCommitted.add(labels, u.committed);
      if (u.uncommitted !== undefined) this.dsUncommitted.add(labels, u.uncommitted);
      if (u.unshared !== undefined) this.dsUnshared.add(labels, u.unshared);
    }
    put(this.snapshotSize, vm.snapshotBytes);
    put(this.consolidation, vm.consolidationNeeded);
    // One series per VM rather than a full state set: four of the five states are rare, and a full
    // set would add 40,000 series of zeros at 10,000 VMs. Alerts select the state: {state="orphaned"} == 1.
    if (vm.connectionState !== undefined) this.connection.addRenderedWith(rendered, vm.connectionState, 1);
    // The collector always asks for runtime.question, and vCenter omits it when unset: no question.
    put(this.question, vm.questionPending ?? false);
    put(this.ha, vm.haProtected);
  }

  /** The families filled so far, in VM_HEALTH_FAMILIES order (per-datastore ones only when asked for). */
  families(): MetricFamily[] {
    const ds = this.perDatastore ? [this.dsCommitted, this.dsUncommitted, this.dsUnshared] : [];
    return [
      this.committed,
      this.uncommitted,
      this.unshared,
      ...ds,
      this.snapshotSize,
      this.consolidation,
      this.connection,
      this.question,
      this.ha,
    ];
  }
}
