// The shapes of what vCenter answers, apart from the code that asks and reads: collectors and other
// pure code depend on this data, never on a transport or the property collector.

/**
 * An element's attributes by local name, in an object that inherits nothing: the names are the
 * answer's, so `__proto__` or `constructor` must be plain keys that inherit and change nothing.
 */
export type XmlAttrs = Record<string, string>;

// The prototype of every attribute map: empty, frozen, itself without one. A map made with
// Object.create(null) inherits nothing too, but V8 keeps such objects as dictionaries (~3× the
// memory and ~10× the time to make, for each of the hundreds of thousands an answer has).
const INHERITS_NOTHING: object = Object.freeze(Object.create(null) as object);

/** A new attribute map that inherits nothing, holding `init`'s own entries. */
export function xmlAttrs(init?: Readonly<Record<string, string>>): XmlAttrs {
  const out = Object.create(INHERITS_NOTHING) as XmlAttrs;
  if (init) for (const k of Object.keys(init)) out[k] = init[k]!;
  return out;
}

/** One element of a SOAP response: local name, attributes by local name, children and text. */
export interface XmlNode {
  name: string;
  /** Attributes by local name; `type` holds the local part of `xsi:type` (or the MoRef `type`). */
  attrs: XmlAttrs;
  children: XmlNode[];
  text: string;
}

/** First child element with that local name. */
export function child(node: XmlNode, name: string): XmlNode | undefined {
  for (const c of node.children) if (c.name === name) return c;
  return undefined;
}

/** A managed object reference: type and value (the moid), e.g. `{type: 'VirtualMachine', value: 'vm-42'}`. */
export interface MoRef {
  type: string;
  value: string;
}

/** Properties to read from every object of one type. */
export interface PropertySpec {
  type: string;
  pathSet: readonly string[];
}

/** One object's properties: path → value element (absent paths are simply missing). */
export interface ObjectContent {
  obj: MoRef;
  props: Map<string, XmlNode>;
}
