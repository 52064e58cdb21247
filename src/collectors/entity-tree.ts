import type { ObjectContent } from '../vsphere/property-collector.js';
import { moRef, str } from '../vsphere/values.js';

interface Node {
  type: string;
  name?: string;
  parent?: string;
}

// Folders nest, but never more deeply than vCenter's inventory allows; a bound also stops a cycle.
const MAX_DEPTH = 64;

/**
 * Names and parents of inventory objects read through a ContainerView, for inventory paths and
 * the datacenter an object lives in. The root folder is not in a view of itself, so its moid is given.
 */
export class EntityTree {
  private readonly nodes = new Map<string, Node>();
  private readonly dcCache = new Map<string, string>();

  constructor(private readonly rootMoid: string) {}

  /** Adds every object of `objects` that has a `name` or `parent` property. */
  addAll(objects: readonly ObjectContent[]): this {
    for (const o of objects) {
      const name = str(o.props.get('name'));
      const parent = moRef(o.props.get('parent'))?.value;
      if (name !== undefined || parent !== undefined)
        this.nodes.set(o.obj.value, { type: o.obj.type, name, parent });
    }
    return this;
  }

  /** Type, name and parent moid of `moid`, when read. */
  get(moid: string): Readonly<Node> | undefined {
    return this.nodes.get(moid);
  }

  /** Name of the datacenter above `moid` ("" when there is none, e.g. a parent was not read). */
  datacenter(moid: string): string {
    const hit = this.dcCache.get(moid);
    if (hit !== undefined) return hit;
    let result = '';
    for (let id = this.nodes.get(moid)?.parent, i = 0; id !== undefined && i < MAX_DEPTH; i++) {
      const node = this.nodes.get(id);
      if (!node) break;
      if (node.type === 'Datacenter') {
        result = node.name ?? '';
        break;
      }
      id = node.parent;
    }
    this.dcCache.set(moid, result);
    return result;
  }

  /** Inventory path below the root folder, e.g. "/DC0/datastore/POD0/ds1"; undefined when the chain is broken. */
  path(moid: string): string | undefined {
    const names: string[] = [];
    let id: string | undefined = moid;
    for (let i = 0; i < MAX_DEPTH; i++) {
      if (id === this.rootMoid) return '/' + names.reverse().join('/');
      const node: Node | undefined = id === undefined ? undefined : this.nodes.get(id);
      if (node?.name === undefined) return undefined;
      names.push(node.name);
      id = node.parent;
    }
    return undefined;
  }
}
