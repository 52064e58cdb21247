/**
 * Bounds on the shape of one SOAP answer, beside its byte cap: a few bytes of XML can make a
 * node, so an answer of millions of empty elements or one element with millions of attributes
 * would cost hundreds of MiB and seconds of blocked event loop while staying under the byte cap.
 */
export interface XmlLimits {
  /** Elements in a whole answer that is not streamed. */
  maxElements: number;
  /** Elements in a whole streamed answer, handed-over ones included. */
  maxStreamedElements: number;
  /**
   * Bytes of a whole streamed answer. Its memory is bounded by what is held at once
   * (maxHeldChars, maxHeldElements), so this bounds only the parsing time a server can demand.
   */
  maxStreamedBytes: number;
  /**
   * Characters of XML held at once in a streamed answer: the element being read plus everything
   * that is not streamed (the envelope and the answer's other fields). A byte each for ASCII.
   */
  maxHeldChars: number;
  /** Elements held in the tree at once: streamed elements leave it as they close. */
  maxHeldElements: number;
  /** Attributes on one element. */
  maxAttributes: number;
  /** Nesting depth (Envelope = 1). */
  maxDepth: number;
}

// The densest real answers are QueryPerf series, ~17 bytes per element
// (`<value><id><counterId>6</counterId><instance></instance></id><value>12</value></value>`);
// a RetrievePropertiesEx page of VMs runs at 25–40. One element per 8 bytes leaves twice that
// margin, so any real answer under the byte cap passes, while `<a/>` (4 bytes) cannot fill it.
const BYTES_PER_ELEMENT = 8;
// Only unstreamed answers (the counter catalogue: ~26 bytes per element, 30,000 elements) and the
// one streamed element being read (a VM, one entity's series of a 256-metric QueryPerf) are held
// whole; a 50,000-VM inventory streams one object at a time. 512,000 held elements at the 32 MiB
// cap is over ten times the largest of those; at ~70 bytes a node, the tree stays near the cap.
const BYTES_PER_HELD_ELEMENT = 64;
// vim25 elements carry xsi:type, a MoRef type and a few xmlns declarations on the Envelope.
const MAX_ATTRIBUTES = 256;
// vim25 nests a few levels deep (a snapshot tree perhaps 40); nothing legitimate comes near this.
const MAX_DEPTH = 64;
// A streamed answer (a first WaitForUpdatesEx, which vcsim 0.24 sends whole whatever
// maxObjectUpdates says: ~5 KiB per VM, ~250 MiB at 50,000 VMs; RetrievePropertiesEx pages;
// QueryPerf) is held one element at a time, so its total needs no tight bound for memory: 32 times
// the cap (1 GiB at the default 32 MiB) only stops a server streaming without end from holding
// the parser for minutes (~10 s of CPU per GiB); the caller's wall deadline bounds it as well.
const STREAMED_TOTAL_FACTOR = 32;
// Floors, so that a small byte cap does not refuse the fixed-size answers (the counter catalogue).
const MIN_ELEMENTS = 200_000;
const MIN_HELD_ELEMENTS = 100_000;

/** The bounds for answers of at most `maxBytes` bytes. */
export function xmlLimits(maxBytes: number): XmlLimits {
  const streamedBytes = maxBytes * STREAMED_TOTAL_FACTOR;
  return {
    maxElements: Math.max(MIN_ELEMENTS, Math.floor(maxBytes / BYTES_PER_ELEMENT)),
    maxStreamedElements: Math.max(MIN_ELEMENTS, Math.floor(streamedBytes / BYTES_PER_ELEMENT)),
    maxStreamedBytes: streamedBytes,
    maxHeldChars: maxBytes,
    maxHeldElements: Math.max(MIN_HELD_ELEMENTS, Math.floor(maxBytes / BYTES_PER_HELD_ELEMENT)),
    maxAttributes: MAX_ATTRIBUTES,
    maxDepth: MAX_DEPTH,
  };
}

/** Bounds for the default 32 MiB byte cap (parseXml, tests). */
export const DEFAULT_XML_LIMITS: XmlLimits = xmlLimits(32 * 1024 * 1024);

/** XML 1.0 `Char`: what a character reference may name (a C0 control like ESC may not). */
export function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** The code point of a well-formed character reference body (`#x1b`, `#27`), else undefined. */
export function charRefCodePoint(entity: string): number | undefined {
  if (/^#x[0-9a-f]+$/i.test(entity)) return parseInt(entity.slice(2), 16);
  if (/^#[0-9]+$/.test(entity)) return parseInt(entity.slice(1), 10);
  return undefined;
}
