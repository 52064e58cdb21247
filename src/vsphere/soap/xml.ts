import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { VsphereError } from './errors.js';
import { fastAttributeValues, fastNames } from './sax-shortcuts.js';
import { charRefCodePoint, DEFAULT_XML_LIMITS, isXmlChar, type XmlLimits } from './xml-limits.js';

/** One element of a SOAP response: local name, attributes by local name, children and text. */
export interface XmlNode {
  name: string;
  /** Attributes by local name; `type` holds the local part of `xsi:type` (or the MoRef `type`). */
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const NO_ATTRS: Record<string, string> = Object.freeze({});
const NO_CHILDREN: XmlNode[] = Object.freeze([]) as unknown as XmlNode[];
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
// Distinct element names shared per answer (vim25 has a few hundred): one string each, not one per node.
const MAX_INTERNED_NAMES = 4096;
// Character references replaced by U+FFFD that the log names (the count covers all of them).
const MAX_REPORTED_REFS = 5;

/**
 * Elements to hand over as soon as they close, instead of keeping them in the tree: the
 * `objects` of a large RetrievePropertiesEx or the `returnval`s of QueryPerf, so memory holds one
 * element at a time, not the whole response.
 */
export interface StreamSpec {
  /** Depth of the element (Envelope = 0, Body = 1, the method's response = 2). */
  depth: number;
  name: string;
  onElement(node: XmlNode): void;
}

/** Character references to characters XML 1.0 forbids, read as U+FFFD (see SoapXmlParser). */
export interface CharRefReplacements {
  count: number;
  /** The first few references as sent (e.g. `&#x1b;`) and the element they were in. */
  refs: { ref: string; element: string }[];
}

/**
 * Streaming, strict SOAP response parser: fed chunks as they arrive, it builds a small tree
 * of the Envelope and rejects DOCTYPEs (entity expansion), unbalanced or ill-formed XML, and
 * answers past the element, attribute and depth bounds of XmlLimits.
 */
export class SoapXmlParser {
  // Namespaces are resolved here, not by saxes: its xmlns mode cost ~10 % of a 10,000-VM scrape's
  // CPU, while SOAP declares prefixes on one or two elements only. Unbound prefixes, a prefix
  // "undeclared" with an empty URI, and misuse of the reserved prefixes are still rejected.
  private readonly sax = new SaxesParser<{ xmlns: false; position: false }>({
    xmlns: false,
    position: false,
  });
  // StringDecoder, not TextDecoder: the same text (U+FFFD for each maximal invalid subpart) at a
  // fraction of the CPU (TextDecoder's streaming mode cost ~6 % of a scrape). A leading byte order
  // mark, which TextDecoder drops, is dropped in text().
  private readonly decoder = new StringDecoder('utf8');
  private started = false;
  private readonly stack: XmlNode[] = [];
  /** Prefix bindings, innermost last; each entry belongs to the element at `depth`. */
  private readonly scopes: { depth: number; prefixes: Map<string, string> }[] = [];
  /** The last prefix resolve() found bound, and its URI; dropped whenever the bindings change. */
  private resolved: { prefix: string; uri: string } | undefined;
  private root: XmlNode | undefined;
  private error: Error | undefined;
  private readonly names = new Map<string, string>();
  /** Elements opened, and those of them still in the tree (not handed over). */
  private elements = 0;
  private held = 0;
  /** `elements` when the element that will be handed over next was opened. */
  private streamedFrom = 0;
  private attributes = 0;
  /** Characters written; of them, those of elements handed over (no longer held). */
  private chars = 0;
  private streamedChars = 0;
  /** Stream position at the last event (near where a next element's `<` is), and at the handed-over element's start. */
  private mark = 0;
  private openedAt = 0;
  private readonly maxElements: number;
  /** Attribute names of the tag being read, in order, when boundAttributes counts them (`counted`). */
  private keys: string[] = [];
  private counted = false;
  /** The interned names of the last two elements opened at each depth `d`, at 2d and 2d + 1. */
  private readonly lastNames: (string | undefined)[] = [];
  /** What the parser read as U+FFFD instead of rejecting the answer. */
  readonly replacements: CharRefReplacements = { count: 0, refs: [] };

  constructor(
    private readonly stream?: StreamSpec,
    private readonly limits: XmlLimits = DEFAULT_XML_LIMITS,
  ) {
    // A streamed answer is held one element at a time: its total is bounded apart from what is held.
    this.maxElements = stream ? limits.maxStreamedElements : limits.maxElements;
    this.sax.on('doctype', () => {
      this.fail('a DOCTYPE is not allowed in a SOAP response');
    });
    this.boundAttributes();
    this.lenientCharRefs();
    fastNames(this.sax);
    fastAttributeValues(this.sax);
    this.sax.on('opentag', (tag) => {
      this.attributes = 0;
      const depth = this.stack.length;
      if (depth >= this.limits.maxDepth) {
        this.fail(`XML nested deeper than ${this.limits.maxDepth} levels`);
        return;
      }
      if (++this.elements > this.maxElements) {
        this.tooLarge(`more than ${this.maxElements} elements`);
        return;
      }
      if (++this.held > this.limits.maxHeldElements) {
        this.tooLarge(`more than ${this.limits.maxHeldElements} elements held at once`);
        return;
      }
      const raw = tag.attributes;
      // Names as boundAttributes saw them: no for-in over saxes's dictionary object, and none at
      // all for the ~4 in 5 elements of an answer that have no attributes.
      const keys = this.counted ? this.keys : Object.keys(raw);
      if (this.keys.length > 0) this.keys = [];
      // Declarations first: prefixes used on this element may be bound by it. Most elements have
      // no attributes and no children: they share one frozen empty object and array instead of
      // allocating their own (~1.2 million nodes per 10,000-VM scrape).
      let out = NO_ATTRS;
      for (const key of keys) {
        if (key === 'xmlns' || key.startsWith('xmlns:')) this.declare(depth, key, raw[key]!);
        else if (out === NO_ATTRS) out = {};
      }
      if (out !== NO_ATTRS) {
        for (const key of keys) {
          if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
          const colon = key.indexOf(':');
          if (colon < 0) {
            out[key] = raw[key]!;
            continue;
          }
          const uri = this.resolve(key.slice(0, colon), key);
          const local = key.slice(colon + 1);
          // xsi:type values carry a prefix ("xsd:int", "vim25:HostSystem"): keep the local part.
          out[local] = uri === XSI && local === 'type' ? localPart(raw[key]!) : raw[key]!;
        }
      }
      const name = tag.name;
      const colon = name.indexOf(':');
      if (colon >= 0) this.resolve(name.slice(0, colon), name);
      const bare = colon < 0 ? name : name.slice(colon + 1);
      const local = this.internAt(depth, bare);
      const s = this.stream;
      if (s) {
        if (depth === s.depth && local === s.name) {
          this.streamedFrom = this.elements - 1;
          this.openedAt = this.mark;
        }
        this.mark = this.position();
      }
      const node: XmlNode = {
        name: local,
        attrs: out,
        children: NO_CHILDREN,
        text: '',
      };
      const parent = this.stack[depth - 1];
      if (parent) {
        if (parent.children === NO_CHILDREN) parent.children = [node];
        else parent.children.push(node);
      } else if (this.root) this.fail('more than one root element');
      else this.root = node;
      this.stack.push(node);
    });
    this.sax.on('text', (t) => {
      const top = this.stack[this.stack.length - 1];
      if (top) top.text += t;
      if (this.stream) this.mark = this.position();
    });
    this.sax.on('closetag', () => {
      const node = this.stack.pop();
      const scope = this.scopes[this.scopes.length - 1];
      if (scope && scope.depth === this.stack.length) {
        this.scopes.pop();
        this.resolved = undefined;
      }
      const s = this.stream;
      if (!s) return;
      const at = this.position();
      this.mark = at;
      if (node && this.stack.length === s.depth && node.name === s.name && !this.error) {
        // Detach: it is the parent's last child, just closed.
        this.stack[this.stack.length - 1]?.children.pop();
        this.held -= this.elements - this.streamedFrom;
        this.streamedChars += at - this.openedAt;
        // Held whole while it was read, even when it arrived within one chunk.
        if (at - this.openedAt > this.limits.maxHeldChars) return this.tooLarge(this.heldMessage());
        try {
          s.onElement(node);
        } catch (e) {
          // A reader failing on what vCenter sent is a bad answer, not a broken connection.
          this.error ??=
            e instanceof VsphereError
              ? e
              : new VsphereError(
                  'VSPHERE_BAD_RESPONSE',
                  `unreadable ${s.name} element: ${e instanceof Error ? e.message : String(e)}`,
                  { cause: e },
                );
        }
      }
    });
    this.sax.on('error', (e) => {
      this.fail(e.message);
    });
  }

  /** Feeds one chunk of the response body. Throws on malformed input. */
  write(chunk: Uint8Array | string): void {
    this.check();
    const s = typeof chunk === 'string' ? chunk : this.text(this.decoder.write(chunk));
    this.sax.write(s);
    this.chars += s.length;
    // Checked per chunk: one streamed element, or what is not streamed, over the cap is refused
    // within the chunk that crosses it (the whole answer is bounded by the transport).
    if (this.stream && this.chars - this.streamedChars > this.limits.maxHeldChars)
      this.tooLarge(this.heldMessage());
    this.check();
  }

  private heldMessage(): string {
    return `more than ${this.limits.maxHeldChars} characters held at once (one ${this.stream?.name} element and the rest of the answer)`;
  }

  /** Characters of the answer read so far (saxes' own count is right only inside its events). */
  private position(): number {
    return (this.sax as unknown as { position: number }).position;
  }

  /** Ends the document and returns its root element (the Envelope). */
  close(): XmlNode {
    this.check();
    const rest = this.text(this.decoder.end());
    if (rest) this.sax.write(rest);
    this.sax.close();
    this.check();
    if (!this.root) throw new VsphereError('VSPHERE_BAD_RESPONSE', 'empty XML document');
    return this.root;
  }

  /** Decoded text, the document's leading byte order mark removed. */
  private text(s: string): string {
    if (this.started || s === '') return s;
    this.started = true;
    return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
  }

  /**
   * Attributes are counted as saxes reads them, before it assembles the whole tag: one element
   * with millions of attributes is stopped within the chunk that crosses the bound, and saxes
   * keeps no more of them. (Its 'attribute' event would do, but a handler on it made every
   * answer parse ~4 times slower.) The count restarts at each tag's end.
   */
  private boundAttributes(): void {
    const sax = this.sax as unknown as { pushAttrib?: (name: string, value: string) => void };
    const push = sax.pushAttrib;
    if (typeof push !== 'function') return;
    const max = this.limits.maxAttributes;
    this.counted = true;
    sax.pushAttrib = (name: string, value: string): void => {
      if (++this.attributes <= max) {
        this.keys.push(name);
        return push.call(this.sax, name, value);
      }
      if (this.attributes === max + 1) this.fail(`an element with more than ${max} attributes`);
    };
  }

  /**
   * Character references to characters XML 1.0 forbids (`&#x1b;` in a VM name typed or pasted by
   * someone) are read as U+FFFD instead of failing the whole answer; replacements lists them.
   * saxes has no option for it: its entity resolution is wrapped.
   */
  private lenientCharRefs(): void {
    const sax = this.sax as unknown as { parseEntity?: (entity: string) => string };
    const strict = sax.parseEntity;
    if (typeof strict !== 'function') return;
    sax.parseEntity = (entity: string): string => {
      const cp = entity.startsWith('#') ? charRefCodePoint(entity) : undefined;
      if (cp === undefined || isXmlChar(cp)) return strict.call(this.sax, entity);
      const r = this.replacements;
      if (++r.count <= MAX_REPORTED_REFS)
        r.refs.push({
          ref: `&${entity.slice(0, 12)};`,
          element: this.stack[this.stack.length - 1]?.name ?? '',
        });
      return '\uFFFD';
    };
  }

  /**
   * intern() with a memory of the last two names opened at `depth`: siblings alternate between
   * one or two names (`id`, `value`, `id`, … in a QueryPerf series), so a string comparison or two
   * usually finds the shared copy without hashing the fresh name for the Map.
   */
  private internAt(depth: number, name: string): string {
    const names = this.lastNames;
    const i = 2 * depth;
    const a = names[i];
    if (a === name) return a;
    const b = names[i + 1];
    if (b === name) return b;
    const known = this.intern(name);
    names[i + 1] = a;
    names[i] = known;
    return known;
  }

  /** One shared copy of each element name (copied off the chunk it was cut from). */
  private intern(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (this.names.size >= MAX_INTERNED_NAMES) return name;
    const copy = name.length < 13 ? name : (' ' + name).slice(1);
    this.names.set(copy, copy);
    return copy;
  }

  private declare(depth: number, key: string, uri: string): void {
    const prefix = key === 'xmlns' ? '' : key.slice(6);
    if (prefix === 'xmlns') return this.fail('the xmlns prefix must not be declared');
    if (prefix === 'xml' ? uri !== XML_NS : uri === XML_NS || uri === XMLNS_NS)
      return this.fail(`prefix ${prefix || '(default)'} bound to a reserved namespace`);
    if (prefix !== '' && uri === '') return this.fail(`prefix ${prefix} declared with an empty namespace`);
    let scope = this.scopes[this.scopes.length - 1];
    if (!scope || scope.depth !== depth) this.scopes.push((scope = { depth, prefixes: new Map() }));
    scope.prefixes.set(prefix, uri);
    this.resolved = undefined;
  }

  /** The namespace URI bound to `prefix` here; an unbound prefix makes the document invalid. */
  private resolve(prefix: string, qname: string): string | undefined {
    if (prefix === 'xml') return XML_NS;
    // The same prefix is looked up on element after element (xsi:type on every series) while the
    // bindings stay as they are: the last answer holds until a declaration or a scope's end.
    const last = this.resolved;
    if (last !== undefined && last.prefix === prefix) return last.uri;
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const uri = this.scopes[i]!.prefixes.get(prefix);
      if (uri !== undefined) {
        this.resolved = { prefix, uri };
        return uri;
      }
    }
    this.fail(`unbound namespace prefix: ${JSON.stringify(qname)}`);
    return undefined;
  }

  private check(): void {
    if (this.error) throw this.error;
  }

  private tooLarge(message: string): void {
    this.error ??= new VsphereError('VSPHERE_RESPONSE_TOO_LARGE', `SOAP response with ${message}`);
  }

  private fail(message: string): void {
    // saxes keeps going after an error event; remember the first one and stop building.
    this.error ??= new VsphereError('VSPHERE_BAD_RESPONSE', `invalid XML in SOAP response: ${message}`);
  }
}

/** Parses a whole XML string (tests, small bodies). */
export function parseXml(xml: string, stream?: StreamSpec, limits?: XmlLimits): XmlNode {
  const p = new SoapXmlParser(stream, limits);
  p.write(xml);
  return p.close();
}

function localPart(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

/** First child element with that local name. */
export function child(node: XmlNode, name: string): XmlNode | undefined {
  for (const c of node.children) if (c.name === name) return c;
  return undefined;
}
