import type { MoRef } from './soap/envelope.js';
import { xmlAttrs, type XmlNode } from './answer-data.js';

// Decoders for the leaf values of vim25 properties. vCenter sends every scalar as text;
// absent or malformed values become undefined rather than NaN, so a metric is skipped, not wrong.

/**
 * A copy of `s` that shares no memory with the string it was cut from. The XML parser's text is
 * sliced out of 64 KiB chunks of the answer, and V8 keeps a whole chunk alive for as long as any
 * slice of it lives: a VM name kept in the inventory held ~64 KiB of SOAP text, ~40 MiB in all.
 */
export function unslice(s: string): string {
  // V8 copies slices shorter than 13 characters anyway; longer ones are copied via a new flat string.
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Text of a node (copied, see unslice), or undefined. */
export function str(node: XmlNode | undefined): string | undefined {
  return node === undefined ? undefined : unslice(node.text);
}

/** xsd:int/long/short/double → number, undefined when absent or not finite. */
export function num(node: XmlNode | undefined): number | undefined {
  if (!node) return undefined;
  const t = node.text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** xsd:boolean → boolean. */
export function bool(node: XmlNode | undefined): boolean | undefined {
  if (!node) return undefined;
  const t = node.text.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return undefined;
}

/** xsd:dateTime → Unix seconds. */
export function epochSeconds(node: XmlNode | undefined): number | undefined {
  if (!node) return undefined;
  const ms = Date.parse(node.text.trim());
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/** A ManagedObjectReference element → MoRef. */
export function moRef(node: XmlNode | undefined): MoRef | undefined {
  const type = node?.attrs.type;
  if (!node || !type || !node.text) return undefined;
  return { type: unslice(type), value: unslice(node.text) };
}

/** A deep copy of `node` sharing no string memory with the parsed answer (see unslice), for values kept past the parse. */
export function detached(node: XmlNode | undefined): XmlNode | undefined {
  if (node === undefined) return undefined;
  const attrs = xmlAttrs();
  for (const [k, v] of Object.entries(node.attrs)) attrs[unslice(k)] = unslice(v);
  return {
    name: unslice(node.name),
    attrs,
    text: unslice(node.text),
    children: node.children.map((c) => detached(c)!),
  };
}

/**
 * An xsd:byte[] (ArrayOfByte: one `<byte>` element per byte, signed) as one node whose text holds
 * the bytes as latin1 characters; any other node as it is. A host certificate is ~1,500 `<byte>`
 * elements: kept as nodes by the model for hundreds of hosts, they would cost tens of megabytes.
 */
export function compactByteArray(node: XmlNode | undefined): XmlNode | undefined {
  if (node?.attrs.type !== 'ArrayOfByte') return node;
  let text = '';
  for (const c of node.children) {
    const n = Number(c.text.trim());
    // Not a byte: left as read, for the reader to reject.
    if (c.name !== 'byte' || !Number.isInteger(n) || n < -128 || n > 255) return node;
    text += String.fromCharCode(n & 0xff);
  }
  return { name: node.name, attrs: xmlAttrs({ type: 'ArrayOfByte' }), children: [], text };
}
