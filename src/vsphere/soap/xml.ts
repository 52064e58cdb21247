import { StringDecoder } from 'node:string_decoder';
import { VsphereError } from '../errors.js';
import { NameInterner } from './name-interner.js';
import { XmlSyntaxError, XmlTokenizer, type XmlTokenHandler } from './xml-tokenizer.js';
import { shown } from './xml-tags.js';
import { localPart, NamespaceScopes, XSI } from './xml-namespaces.js';
import { DEFAULT_XML_LIMITS, type XmlLimits } from './xml-limits.js';
import { xmlAttrs, type XmlAttrs, type XmlNode } from '../answer-data.js';
import { readerError, type StreamSpec } from './stream-spec.js';

export { child, type XmlNode } from '../answer-data.js';
export type { ElementReader, StreamSpec } from './stream-spec.js';

const NO_ATTRS: XmlAttrs = Object.freeze(xmlAttrs());
const NO_CHILDREN: XmlNode[] = Object.freeze([]) as unknown as XmlNode[];
// Stands on the stack for each element a reader is told about: no node is built for it.
const READ: XmlNode = Object.freeze({ name: '', attrs: NO_ATTRS, children: NO_CHILDREN, text: '' });
// Character references replaced by U+FFFD that the log names (the count covers all of them).
const MAX_REPORTED_REFS = 5;

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
export class SoapXmlParser implements XmlTokenHandler {
  private readonly tokens: XmlTokenizer;
  // StringDecoder, not TextDecoder: the same text (U+FFFD for each maximal invalid subpart) at a
  // fraction of the CPU (TextDecoder's streaming mode cost ~6 % of a scrape). A leading byte order
  // mark, which TextDecoder drops, is dropped by the tokenizer.
  private readonly decoder = new StringDecoder('utf8');
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
  /** Characters written; of them, those of elements handed over (no longer held). */
  private chars = 0;
  private streamedChars = 0;
  /** Stream position at the last event (near where a next element's `<` is), and at the handed-over element's start. */
  private mark = 0;
  private openedAt = 0;
  private readonly maxElements: number;
  /** Depth of the streamed element being told to `stream.reader`, -1 when none is. */
  private reading = -1;
  /** Whether an element may carry the one attribute a skimmed series may have. */
  private readonly attributeAllowed: boolean;
  /** What the parser read as U+FFFD instead of rejecting the answer. */
  readonly replacements: CharRefReplacements = { count: 0, refs: [] };

  constructor(
    private readonly stream?: StreamSpec,
    private readonly limits: XmlLimits = DEFAULT_XML_LIMITS,
  ) {
    // A streamed answer is held one element at a time: its total is bounded apart from what is held.
    this.maxElements = stream ? limits.maxStreamedElements : limits.maxElements;
    this.attributeAllowed = limits.maxAttributes >= 1;
    this.tokens = new XmlTokenizer(this, limits.maxAttributes);
  }

  /** Feeds one chunk of the response body. Throws on malformed input. */
  write(chunk: Uint8Array | string): void {
    this.check();
    const s = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    this.tokenize(s, false);
    this.chars += s.length;
    // Checked per chunk: one streamed element, or what is not streamed, over the cap is refused
    // within the chunk that crosses it (the whole answer is bounded by the transport).
    if (this.stream && this.chars - this.streamedChars > this.limits.maxHeldChars)
      this.tooLarge(this.heldMessage());
    this.check();
  }

  /** Ends the document and returns its root element (the Envelope). */
  close(): XmlNode {
    this.check();
    this.tokenize(this.decoder.end(), true);
    this.check();
    if (!this.root) throw new VsphereError('VSPHERE_BAD_RESPONSE', 'empty XML document');
    return this.root;
  }

  private tokenize(s: string, end: boolean): void {
    try {
      if (s !== '') this.tokens.write(s);
      if (end) this.tokens.end();
    } catch (e) {
      // Handlers stop the tokenizer by throwing the error they recorded.
      if (e instanceof XmlSyntaxError) this.error ??= badXml(e.message);
      else if (e !== this.error) throw e;
    }
  }

  /** A start tag (XmlTokenHandler): a node in the tree, or an open event for the stream's reader. */
  openTag(name: string, count: number, keys: readonly string[], values: readonly string[]): void {
    const depth = this.stack.length;
    if (depth >= this.limits.maxDepth) this.fail(`XML nested deeper than ${this.limits.maxDepth} levels`);
    if (++this.elements > this.maxElements) this.tooLarge(`more than ${this.maxElements} elements`);
    if (++this.held > this.limits.maxHeldElements)
      this.tooLarge(`more than ${this.limits.maxHeldElements} elements held at once`);
    // Most elements have no attributes and no children: they share one frozen empty object and
    // array instead of allocating their own (~1.2 million nodes per 10,000-VM scrape).
    const out = count === 0 ? NO_ATTRS : this.attributes(depth, count, keys, values);
    const colon = name.indexOf(':');
    if (colon >= 0) this.resolve(name.slice(0, colon), name);
    const local = this.names.internAt(depth, colon < 0 ? name : name.slice(colon + 1));
    const s = this.stream;
    if (s) {
      if (depth === s.depth && local === s.name) {
        this.streamedFrom = this.elements - 1;
        this.openedAt = this.mark;
        if (s.reader) this.reading = depth;
      }
      this.mark = this.tokens.position;
      if (this.reading >= 0) {
        this.stack.push(READ);
        try {
          s.reader!.open(local, out, depth - this.reading);
        } catch (e) {
          this.readerFailed(s, e);
        }
        return;
      }
    }
    const node: XmlNode = { name: local, attrs: out, children: NO_CHILDREN, text: '' };
    const parent = this.stack[depth - 1];
    if (parent) {
      if (parent.children === NO_CHILDREN) parent.children = [node];
      else parent.children.push(node);
    } else this.root = node;
    this.stack.push(node);
  }

  /** An element's attributes by local name; namespace declarations first (they bind prefixes used on the element). */
  private attributes(depth: number, count: number, keys: readonly string[], values: readonly string[]) {
    let out = NO_ATTRS;
    let typed = false;
    for (let k = 0; k < count; k++) {
      const key = keys[k]!;
      if (key === 'xmlns' || key.startsWith('xmlns:')) this.declare(depth, key, values[k]!);
      else {
        if (out === NO_ATTRS) out = xmlAttrs();
        if (key === 'type') typed = true;
      }
    }
    if (out === NO_ATTRS) return out;
    for (let k = 0; k < count; k++) {
      const key = keys[k]!;
      if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
      const colon = key.indexOf(':');
      if (colon < 0) {
        out[key] = values[k]!;
        continue;
      }
      const uri = this.resolve(key.slice(0, colon), key);
      const local = key.slice(colon + 1);
      // xsi:type values carry a prefix ("xsd:int", "vim25:HostSystem"): keep the local part.
      // A MoRef value carries both (type="Folder" xsi:type="ManagedObjectReference"): its own
      // type is what names the object, whichever comes first (vcsim 8 writes xsi:type last).
      if (uri === XSI && local === 'type') {
        if (!typed) out.type = localPart(values[k]!);
      } else out[local] = values[k]!;
    }
    return out;
  }

  /**
   * A child element of a streamed element that its reader reads straight from the text
   * (XmlTokenHandler): counted against the same bounds, or -1 to tokenize it. The stream mark
   * stays: it is read only when a streamed element opens, never inside one.
   */
  skim(s: string, i: number, n: number): number {
    const reader = this.reading >= 0 ? this.stream?.reader : undefined;
    if (reader?.skim === undefined) return -1;
    // Its deepest elements are two below it; one attribute at most.
    if (this.stack.length + 2 >= this.limits.maxDepth || !this.attributeAllowed) return -1;
    const room = Math.min(this.maxElements - this.elements, this.limits.maxHeldElements - this.held);
    let end: number;
    try {
      end = reader.skim(s, i, n, room, this.namespaces);
    } catch (e) {
      this.readerFailed(this.stream!, e);
    }
    if (end < 0) return -1;
    const k = reader.skimmed ?? 0;
    this.elements += k;
    this.held += k;
    return end;
  }

  /** Character data (XmlTokenHandler): appended to the open element's text, or told to the reader. */
  text(t: string): void {
    const s = this.stream;
    if (s) {
      this.mark = this.tokens.position;
      if (this.reading >= 0) {
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
  }

  /** An end tag (XmlTokenHandler): a streamed element that closes is handed over. */
  closeTag(): void {
    const node = this.stack.pop();
    this.namespaces.close(this.stack.length);
    const s = this.stream;
    if (!s) return;
    const at = this.tokens.position;
    this.mark = at;
    const depth = this.stack.length;
    const read = this.reading >= 0;
    if (read) {
      const inner = depth - this.reading;
      if (inner <= 0) this.reading = -1;
      if (inner < 0) return;
      try {
        if (inner > 0) return s.reader!.close(inner);
      } catch (e) {
        return this.readerFailed(s, e);
      }
    }
    if (node && depth === s.depth && (read || node.name === s.name)) {
      // Detach: it is the parent's last child, just closed.
      if (!read) this.stack[this.stack.length - 1]?.children.pop();
      this.held -= this.elements - this.streamedFrom;
      this.streamedChars += at - this.openedAt;
      // Held whole while it was read, even when it arrived within one chunk.
      if (at - this.openedAt > this.limits.maxHeldChars) this.tooLarge(this.heldMessage());
      try {
        if (read) s.reader!.close(0);
        else s.onElement?.(node);
      } catch (e) {
        this.readerFailed(s, e);
      }
    }
  }

  /** A character reference to a forbidden character, read as U+FFFD (XmlTokenHandler). */
  replaced(ref: string, element: string): void {
    if (++this.replacements.count <= MAX_REPORTED_REFS) this.replacements.refs.push({ ref, element });
  }

  /** What a stream's reader (or onElement) threw: a bad answer, not a broken connection. */
  private readerFailed(s: StreamSpec, e: unknown): never {
    this.error ??= readerError(s.name, e);
    throw this.error;
  }

  private heldMessage(): string {
    return `more than ${this.limits.maxHeldChars} characters held at once (one ${this.stream?.name} element and the rest of the answer)`;
  }

  private declare(depth: number, key: string, uri: string): void {
    const invalid = this.namespaces.declare(depth, key, uri);
    if (invalid !== undefined) this.fail(invalid);
  }

  /** The namespace URI bound to `prefix` here; an unbound prefix makes the document invalid. */
  private resolve(prefix: string, qname: string): string | undefined {
    const uri = this.namespaces.resolve(prefix);
    if (uri === undefined) this.fail(`unbound namespace prefix: ${shown(qname)}`);
    return uri;
  }

  private check(): void {
    if (this.error) throw this.error;
  }

  /** Records the answer as too large and stops the tokenizer. */
  private tooLarge(message: string): never {
    this.error ??= new VsphereError('VSPHERE_RESPONSE_TOO_LARGE', `SOAP response with ${message}`);
    throw this.error;
  }

  /** Records the answer as invalid XML and stops the tokenizer. */
  private fail(message: string): never {
    this.error ??= badXml(message);
    throw this.error;
  }
}

function badXml(message: string): VsphereError {
  return new VsphereError('VSPHERE_BAD_RESPONSE', `invalid XML in SOAP response: ${message}`);
}

/** Parses a whole XML string (tests, small bodies). */
export function parseXml(xml: string, stream?: StreamSpec, limits?: XmlLimits): XmlNode {
  const p = new SoapXmlParser(stream, limits);
  p.write(xml);
  return p.close();
}
