import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { VsphereError } from './errors.js';
import { NameInterner } from './name-interner.js';
import { boundAttributes, lenientCharRefs, type CharRefReplacements } from './sax-hooks.js';
import { fastAttributeValues, fastNames } from './sax-shortcuts.js';
import { localPart, NamespaceScopes, XSI } from './xml-namespaces.js';
import { DEFAULT_XML_LIMITS, type XmlLimits } from './xml-limits.js';
import type { XmlNode } from '../answer-data.js';
import { readerError, type StreamSpec } from './stream-spec.js';

export { child, type XmlNode } from '../answer-data.js';
export type { ElementReader, StreamSpec } from './stream-spec.js';

const NO_ATTRS: Record<string, string> = Object.freeze({});
const NO_CHILDREN: XmlNode[] = Object.freeze([]) as unknown as XmlNode[];
// Stands on the stack for each element a reader is told about: no node is built for it.
const READ: XmlNode = Object.freeze({ name: '', attrs: NO_ATTRS, children: NO_CHILDREN, text: '' });

/** Character references to characters XML 1.0 forbids, read as U+FFFD (see SoapXmlParser). */
export type { CharRefReplacements } from './sax-hooks.js';

/**
 * Streaming, strict SOAP response parser: fed chunks as they arrive, it builds a small tree
 * of the Envelope and rejects DOCTYPEs (entity expansion), unbalanced or ill-formed XML, and
 * answers past the element, attribute and depth bounds of XmlLimits.
 */
export class SoapXmlParser {
  // Namespaces are resolved by NamespaceScopes, not by saxes' xmlns mode (its CPU cost).
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
  private readonly namespaces = new NamespaceScopes();
  private root: XmlNode | undefined;
  private error: Error | undefined;
  private readonly names = new NameInterner();
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
  /** Depth of the streamed element being told to `stream.reader`, -1 when none is. */
  private reading = -1;
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
    this.counted = boundAttributes(this.sax, (name) => this.countAttribute(name));
    lenientCharRefs(this.sax, this.replacements, () => this.stack[this.stack.length - 1]?.name ?? '');
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
          // A MoRef value carries both (type="Folder" xsi:type="ManagedObjectReference"): its own
          // type is what names the object, whichever comes first (vcsim 8 writes xsi:type last).
          if (uri === XSI && local === 'type') {
            if (!('type' in raw)) out.type = localPart(raw[key]!);
          } else out[local] = raw[key]!;
        }
      }
      const name = tag.name;
      const colon = name.indexOf(':');
      if (colon >= 0) this.resolve(name.slice(0, colon), name);
      const bare = colon < 0 ? name : name.slice(colon + 1);
      const local = this.names.internAt(depth, bare);
      const s = this.stream;
      if (s) {
        if (depth === s.depth && local === s.name) {
          this.streamedFrom = this.elements - 1;
          this.openedAt = this.mark;
          if (s.reader) this.reading = depth;
        }
        this.mark = this.position();
        if (this.reading >= 0) {
          this.stack.push(READ);
          if (this.error) return;
          try {
            s.reader!.open(local, out, depth - this.reading);
          } catch (e) {
            this.readerFailed(s, e);
          }
          return;
        }
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
      const s = this.stream;
      if (s) {
        this.mark = this.position();
        if (this.reading >= 0) {
          if (this.error) return;
          try {
            s.reader!.text(t);
          } catch (e) {
            this.readerFailed(s, e);
          }
          return;
        }
      }
      const top = this.stack[this.stack.length - 1];
      if (top) top.text += t;
    });
    this.sax.on('closetag', () => {
      const node = this.stack.pop();
      this.namespaces.close(this.stack.length);
      const s = this.stream;
      if (!s) return;
      const at = this.position();
      this.mark = at;
      const depth = this.stack.length;
      const read = this.reading >= 0;
      if (read) {
        const inner = depth - this.reading;
        if (inner <= 0) this.reading = -1;
        if (inner < 0 || this.error) return;
        try {
          if (inner > 0) return s.reader!.close(inner);
        } catch (e) {
          return this.readerFailed(s, e);
        }
      }
      if (node && depth === s.depth && (read || node.name === s.name) && !this.error) {
        // Detach: it is the parent's last child, just closed.
        if (!read) this.stack[this.stack.length - 1]?.children.pop();
        this.held -= this.elements - this.streamedFrom;
        this.streamedChars += at - this.openedAt;
        // Held whole while it was read, even when it arrived within one chunk.
        if (at - this.openedAt > this.limits.maxHeldChars) return this.tooLarge(this.heldMessage());
        try {
          if (read) s.reader!.close(0);
          else s.onElement?.(node);
        } catch (e) {
          this.readerFailed(s, e);
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

  /** What a stream's reader (or onElement) threw: a bad answer, not a broken connection. */
  private readerFailed(s: StreamSpec, e: unknown): void {
    this.error ??= readerError(s.name, e);
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
   * Counts an attribute as saxes reads it, before it assembles the whole tag (boundAttributes);
   * false drops it. The count restarts at each tag's end.
   */
  private countAttribute(name: string): boolean {
    const max = this.limits.maxAttributes;
    if (++this.attributes <= max) {
      this.keys.push(name);
      return true;
    }
    if (this.attributes === max + 1) this.fail(`an element with more than ${max} attributes`);
    return false;
  }

  private declare(depth: number, key: string, uri: string): void {
    const invalid = this.namespaces.declare(depth, key, uri);
    if (invalid !== undefined) this.fail(invalid);
  }

  /** The namespace URI bound to `prefix` here; an unbound prefix makes the document invalid. */
  private resolve(prefix: string, qname: string): string | undefined {
    const uri = this.namespaces.resolve(prefix);
    if (uri === undefined) this.fail(`unbound namespace prefix: ${JSON.stringify(qname)}`);
    return uri;
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
