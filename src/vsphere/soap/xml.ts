import { SaxesParser } from 'saxes';
import { VsphereError } from './errors.js';

/** One element of a SOAP response: local name, attributes by local name, children and text. */
export interface XmlNode {
  name: string;
  /** Attributes by local name; `type` holds the local part of `xsi:type` (or the MoRef `type`). */
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
// Bounds against hostile input: vim25 nests a few levels deep; nothing legitimate comes near these.
const MAX_DEPTH = 64;

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

/**
 * Streaming, strict SOAP response parser: fed chunks as they arrive, it builds a small tree
 * of the Envelope and rejects DOCTYPEs (entity expansion), unbalanced or ill-formed XML.
 */
export class SoapXmlParser {
  private readonly sax = new SaxesParser({ xmlns: true, position: false });
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });
  private readonly stack: XmlNode[] = [];
  private root: XmlNode | undefined;
  private error: Error | undefined;

  constructor(private readonly stream?: StreamSpec) {
    this.sax.on('doctype', () => {
      this.fail('a DOCTYPE is not allowed in a SOAP response');
    });
    this.sax.on('opentag', (tag) => {
      if (this.stack.length >= MAX_DEPTH) {
        this.fail(`XML nested deeper than ${MAX_DEPTH} levels`);
        return;
      }
      const attrs: Record<string, string> = {};
      for (const key in tag.attributes) {
        const a = tag.attributes[key];
        if (a === undefined || a.uri === 'http://www.w3.org/2000/xmlns/') continue;
        // xsi:type values carry a prefix ("xsd:int", "vim25:HostSystem"): keep the local part.
        attrs[a.local] = a.uri === XSI && a.local === 'type' ? localPart(a.value) : a.value;
      }
      const node: XmlNode = { name: tag.local ?? tag.name, attrs, children: [], text: '' };
      const parent = this.stack[this.stack.length - 1];
      if (parent) parent.children.push(node);
      else if (this.root) this.fail('more than one root element');
      else this.root = node;
      this.stack.push(node);
    });
    this.sax.on('text', (t) => {
      const top = this.stack[this.stack.length - 1];
      if (top) top.text += t;
    });
    this.sax.on('closetag', () => {
      const node = this.stack.pop();
      const s = this.stream;
      if (s && node && this.stack.length === s.depth && node.name === s.name && !this.error) {
        // Detach: it is the parent's last child, just closed.
        this.stack[this.stack.length - 1]?.children.pop();
        try {
          s.onElement(node);
        } catch (e) {
          this.error ??= e instanceof Error ? e : new Error(String(e));
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
    const s = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    this.sax.write(s);
    this.check();
  }

  /** Ends the document and returns its root element (the Envelope). */
  close(): XmlNode {
    this.check();
    const rest = this.decoder.decode();
    if (rest) this.sax.write(rest);
    this.sax.close();
    this.check();
    if (!this.root) throw new VsphereError('VSPHERE_BAD_RESPONSE', 'empty XML document');
    return this.root;
  }

  private check(): void {
    if (this.error) throw this.error;
  }

  private fail(message: string): void {
    // saxes keeps going after an error event; remember the first one and stop building.
    this.error ??= new VsphereError('VSPHERE_BAD_RESPONSE', `invalid XML in SOAP response: ${message}`);
  }
}

/** Parses a whole XML string (tests, small bodies). */
export function parseXml(xml: string, stream?: StreamSpec): XmlNode {
  const p = new SoapXmlParser(stream);
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
