import type { Logger } from 'pino';
import type { VimClient } from './client.js';
import { el, escapeXml, moRefEl, type MoRef } from './soap/envelope.js';
import { VsphereError } from './errors.js';
import { child, type StreamSpec, type XmlNode } from './soap/xml.js';

import type { ObjectContent, PropertySpec } from './answer-data.js';

export type { ObjectContent, PropertySpec } from './answer-data.js';

// Unrequested properties named in the log per retrieval (the count covers all of them).
const MAX_REPORTED_PROPERTIES = 5;

/**
 * Properties an answer carried that were not asked for (a name like "__proto__" from a broken or
 * hostile server): dropped from the object, which is kept, and named once in the log. Checked
 * against every path of the request, whatever the type: a spec of a supertype (ManagedEntity)
 * answers objects of its subtypes.
 */
export class UnrequestedProperties {
  private readonly paths = new Set<string>();
  private count = 0;
  private objects = 0;
  private readonly seen: { type: string; moid: string; path: string }[] = [];

  constructor(specs: readonly PropertySpec[]) {
    for (const s of specs) for (const p of s.pathSet) this.paths.add(p);
  }

  /** True when `path` was asked for; otherwise counts it as skipped. */
  keep(type: string, moid: string, path: string): boolean {
    if (this.paths.has(path)) return true;
    if (++this.count <= MAX_REPORTED_PROPERTIES)
      this.seen.push({ type: type.slice(0, 64), moid: moid.slice(0, 64), path: path.slice(0, 128) });
    return false;
  }

  /**
   * Counts an object skipped whole: one without its obj or the obj's type, or an update without its
   * kind or of an object never entered.
   */
  skipObject(): void {
    this.objects++;
  }

  /** Objects skipped whole so far. */
  get skippedObjects(): number {
    return this.objects;
  }

  /** One warning naming what was skipped, if anything was. */
  report(logger: Pick<Logger, 'warn'>, what: string): void {
    if (this.objects > 0)
      logger.warn({ count: this.objects }, `${what}: skipped objects without obj, type or kind, or unknown`);
    if (this.count === 0) return;
    logger.warn(
      { count: this.count, skipped: this.seen },
      `${what}: skipped properties that were not asked for`,
    );
  }
}

/** The propSets of a PropertyFilterSpec: one per spec. */
export function propSetsXml(specs: readonly PropertySpec[]): string {
  return specs
    .map((s) => `<propSet>${el('type', s.type)}${s.pathSet.map((p) => el('pathSet', p)).join('')}</propSet>`)
    .join('');
}

/** The ObjectSpec selecting every object of a ContainerView (the view itself skipped). */
export function viewObjectSet(view: MoRef): string {
  return (
    `<objectSet>${moRefEl('obj', view)}<skip>true</skip>` +
    '<selectSet xsi:type="TraversalSpec"><name>view</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet>' +
    '</objectSet>'
  );
}

/** The propSets and objectSet of a PropertyFilterSpec selecting `specs` on every object of `view`. */
export function viewFilterSpec(view: MoRef, specs: readonly PropertySpec[]): string {
  return propSetsXml(specs) + viewObjectSet(view);
}

/** CreateContainerView (recursive) over `root` for `types`; the caller owns its destruction. */
export async function createContainerView(
  client: VimClient,
  root: MoRef,
  types: readonly string[],
  signal: AbortSignal | undefined,
): Promise<MoRef> {
  const content = await client.content(signal);
  const res = await client.invoke(
    'CreateContainerView',
    content.viewManager,
    moRefEl('container', root) + types.map((t) => el('type', t)).join('') + '<recursive>true</recursive>',
    signal,
  );
  const rv = child(res, 'returnval');
  if (!rv?.text) throw new VsphereError('VSPHERE_BAD_RESPONSE', 'CreateContainerView: no view returned');
  return { type: rv.attrs.type ?? 'ContainerView', value: rv.text };
}

/** RetrievePropertiesEx over every object of a ContainerView, paging with ContinueRetrievePropertiesEx. */
export function retrieveFromView(
  client: VimClient,
  view: MoRef,
  specs: readonly PropertySpec[],
  signal: AbortSignal | undefined,
  maxObjects = 1000,
  sink?: (o: ObjectContent) => void,
): Promise<ObjectContent[]> {
  return retrieveFiltered(client, viewFilterSpec(view, specs), specs, signal, maxObjects, sink);
}

/**
 * RetrievePropertiesEx of one PropertyFilterSpec (`filterSpec`: its serialised content, whose
 * propSets are `specs`), paging with ContinueRetrievePropertiesEx.
 */
export async function retrieveFiltered(
  client: VimClient,
  filterSpec: string,
  specs: readonly PropertySpec[],
  signal: AbortSignal | undefined,
  maxObjects = 1000,
  sink?: (o: ObjectContent) => void,
): Promise<ObjectContent[]> {
  const content = await client.content(signal);
  const pc = content.propertyCollector;
  const out: ObjectContent[] = [];
  // With a sink each object is handed over as its element closes and not kept: a 10,000-VM page
  // then never holds every object's property tree at once.
  const add = sink ?? ((o: ObjectContent) => void out.push(o));
  const odd = new UnrequestedProperties(specs);
  const stream = objectStream(add, odd);
  let res = await client.invoke(
    'RetrievePropertiesEx',
    pc,
    `<specSet>${filterSpec}</specSet><options>${el('maxObjects', maxObjects)}</options>`,
    signal,
    stream,
  );
  let token = collect(res, add, odd);
  try {
    while (token !== undefined) {
      res = await client.invoke('ContinueRetrievePropertiesEx', pc, el('token', token), signal, stream);
      token = collect(res, add, odd);
    }
  } catch (e) {
    // An abandoned paged retrieval holds server memory until the session ends; release it.
    if (token !== undefined) {
      await client
        .invoke(
          'CancelRetrievePropertiesEx',
          pc,
          `<token>${escapeXml(token)}</token>`,
          AbortSignal.timeout(2000),
        )
        .catch(() => undefined);
    }
    throw e;
  } finally {
    odd.report(client.logger, 'RetrievePropertiesEx');
  }
  return out;
}

function collect(
  res: XmlNode,
  add: (o: ObjectContent) => void,
  odd?: UnrequestedProperties,
): string | undefined {
  const rv = child(res, 'returnval');
  if (!rv) return undefined;
  // A RetrieveResult holds only elements; text in it means this is not one (an empty inventory
  // read from garbage would silently drop every series).
  if (rv.text.trim() !== '') {
    throw new VsphereError('VSPHERE_BAD_RESPONSE', `${res.name}: returnval is not a RetrieveResult`);
  }
  let token: string | undefined;
  for (const c of rv.children) {
    if (c.name === 'token') token = c.text;
    else if (c.name === 'objects') pushObject(c, add, odd);
  }
  return token;
}

// Envelope(0) > Body(1) > RetrievePropertiesExResponse(2) > returnval(3) > objects(4).
function objectStream(add: (o: ObjectContent) => void, odd: UnrequestedProperties): StreamSpec {
  return { depth: 4, name: 'objects', onElement: (node) => pushObject(node, add, odd) };
}

function pushObject(c: XmlNode, add: (o: ObjectContent) => void, odd?: UnrequestedProperties): void {
  const objNode = child(c, 'obj');
  const type = objNode?.attrs.type;
  if (!objNode || !type) return void odd?.skipObject();
  const props = new Map<string, XmlNode>();
  for (const ps of c.children) {
    if (ps.name !== 'propSet') continue;
    const name = child(ps, 'name')?.text;
    const val = child(ps, 'val');
    if (name === undefined || !val || (odd && !odd.keep(type, objNode.text, name))) continue;
    props.set(name, val);
  }
  add({ obj: { type, value: objNode.text }, props });
}

/** Reads properties of one object (RetrievePropertiesEx without traversal). */
export async function retrieveOne(
  client: VimClient,
  obj: MoRef,
  pathSet: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, XmlNode>> {
  const content = await client.content(signal);
  const res = await client.invoke(
    'RetrievePropertiesEx',
    content.propertyCollector,
    `<specSet><propSet>${el('type', obj.type)}${pathSet.map((p) => el('pathSet', p)).join('')}</propSet>` +
      `<objectSet>${moRefEl('obj', obj)}</objectSet></specSet><options/>`,
    signal,
  );
  const out: ObjectContent[] = [];
  collect(res, (o) => void out.push(o));
  return out[0]?.props ?? new Map();
}

/** CreateContainerView over `root` for `types`, handed to `fn` and always destroyed afterwards. */
export async function withContainerView<T>(
  client: VimClient,
  root: MoRef,
  types: readonly string[],
  signal: AbortSignal | undefined,
  fn: (view: MoRef) => Promise<T>,
): Promise<T> {
  const view = await createContainerView(client, root, types, signal);
  const generation = client.session.generation;
  try {
    return await fn(view);
  } finally {
    // Views live until the session ends; a leaked one per scrape grows vpxd's memory.
    // A view from an older session generation died with that session.
    if (generation === client.session.generation) {
      await client
        .invoke('DestroyView', view, '', AbortSignal.timeout(5000))
        .catch((e: unknown) => client.logger.warn({ error: String(e) }, 'DestroyView failed'));
    }
  }
}

/** Every object of the `specs` types under the root folder, with their properties (one view, always destroyed). */
export async function retrieveAll(
  client: VimClient,
  specs: readonly PropertySpec[],
  signal: AbortSignal | undefined,
): Promise<ObjectContent[]> {
  const content = await client.content(signal);
  const types = [...new Set(specs.map((s) => s.type))];
  return withContainerView(client, content.rootFolder, types, signal, (view) =>
    retrieveFromView(client, view, specs, signal),
  );
}
