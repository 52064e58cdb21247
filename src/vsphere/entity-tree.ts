import type { ObjectContent } from './property-collector.js';
import { moRef, str } from './values.js';

/** One managed entity as the tree knows it: its type, name and parent's moid. */
export interface EntityNode {
  moid: string;
  type: string;
  name?: string;
  parent?: string;
  /**
   * Where the VMs and Templates tree lists it when that is not `parent`: a VM inside a vApp (whose
   * `parent` vCenter leaves unset) in its vApp; a vApp (whose `parent` is a resource pool) in its
   * folder or the vApp it is nested in.
   */
  listedIn?: string;
}

// Folders nest, but never more deeply than this; a longer chain is a cycle or garbage.
const MAX_DEPTH = 64;

/** Parent links of managed entities, walked upwards to find datacenters and inventory paths. */
export class EntityTree {
  private readonly nodes = new Map<string, EntityNode>();
  private readonly paths = new Map<string, string | undefined>();

  /**
   * A tree of `nodes` (the first listing of a moid wins). `rootFolder` is the moid of the
   * ServiceContent's root folder, which a ContainerView over it does not list.
   */
  constructor(
    nodes: Iterable<EntityNode>,
    private readonly rootFolder?: string,
  ) {
    // vCenter moids are unique across types; a second listing of one is a duplicate.
    for (const n of nodes) if (!this.nodes.has(n.moid)) this.nodes.set(n.moid, n);
  }

  /** A tree of property-collector objects read with `name` and `parent`. */
  static fromObjects(objects: readonly ObjectContent[], rootFolder?: string): EntityTree {
    return new EntityTree(
      objects.map((o) => ({
        moid: o.obj.value,
        type: o.obj.type,
        name: str(o.props.get('name')),
        parent: moRef(o.props.get('parent'))?.value,
      })),
      rootFolder,
    );
  }

  /** The node of `moid`, if read. */
  get(moid: string | undefined): EntityNode | undefined {
    return moid === undefined ? undefined : this.nodes.get(moid);
  }

  /** The nearest ancestor of `moid` (or `moid` itself) of one of `types`, walking `parent` links. */
  ancestor(moid: string | undefined, types: readonly string[]): EntityNode | undefined {
    let node = this.get(moid);
    const listed = inVApp(node);
    for (let i = 0; node && i < MAX_DEPTH; i++) {
      if (types.includes(node.type)) return node;
      node = this.get(up(node, listed));
    }
    return undefined;
  }

  /** The datacenter `moid` belongs to (a datacenter belongs to itself). */
  datacenterOf(moid: string | undefined): EntityNode | undefined {
    return this.ancestor(moid, ['Datacenter']);
  }

  /** Name of the datacenter above `moid` ("" when none was read; a datacenter is not above itself). */
  datacenter(moid: string): string {
    return this.datacenterOf(this.get(moid)?.parent)?.name ?? '';
  }

  /**
   * The inventory path of `moid` as govc shows it ("/DC0/host/C0/Resources/RP1"): the names below
   * the root folder. A VM inside a vApp is listed in the vApp, and the vApp in its folder, as in the
   * VMs and Templates view ("/DC0/vm/hr/payroll/db01"); the vApp's own path is its resource pool's.
   * Undefined when a link or a name along the way is unknown.
   */
  path(moid: string): string | undefined {
    if (this.paths.has(moid)) return this.paths.get(moid);
    const names: string[] = [];
    let node = this.get(moid);
    const listed = inVApp(node);
    let complete = false;
    for (let i = 0; node && i < MAX_DEPTH; i++) {
      const next = up(node, listed);
      // The root folder ("Datacenters") has no parent and is not part of the path.
      if (next === undefined || node.moid === this.rootFolder) {
        complete = node.type === 'Folder';
        break;
      }
      if (node.name === undefined) break;
      names.push(escapePathName(node.name));
      if (next === this.rootFolder) {
        complete = true;
        break;
      }
      node = this.get(next);
    }
    const result = complete && names.length > 0 ? `/${names.reverse().join('/')}` : undefined;
    this.paths.set(moid, result);
    return result;
  }
}

// A VM inside a vApp has no parent: walks from it go through its vApp and the vApp's folder (the
// VMs and Templates tree), which every inventory reads, not the vApp's resource pool.
const inVApp = (node: EntityNode | undefined): boolean =>
  node?.type === 'VirtualMachine' && node.parent === undefined;
const up = (node: EntityNode, listed: boolean): string | undefined =>
  listed ? (node.listedIn ?? node.parent) : node.parent;

// vCenter already stores "/" in names as "%2f" (and "%" as "%25"); only a raw slash from a
// misbehaving server would break the path apart.
function escapePathName(name: string): string {
  return name.replaceAll('/', '%2f');
}
