import type { MoRef } from './soap/envelope.js';
import type { XmlNode } from './soap/xml.js';

// Decoders for the leaf values of vim25 properties. vCenter sends every scalar as text;
// absent or malformed values become undefined rather than NaN, so a metric is skipped, not wrong.

/** Text of a node, or undefined. */
export function str(node: XmlNode | undefined): string | undefined {
  return node?.text;
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
  return { type, value: node.text };
}
