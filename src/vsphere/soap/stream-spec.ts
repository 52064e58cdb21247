import type { XmlAttrs, XmlNode } from '../answer-data.js';
import { VsphereError } from '../errors.js';

/**
 * Elements to hand over as soon as they close, instead of keeping them in the tree: the
 * `objects` of a large RetrievePropertiesEx or the `returnval`s of QueryPerf, so memory holds one
 * element at a time, not the whole response.
 */
export interface StreamSpec {
  /** Depth of the element (Envelope = 0, Body = 1, the method's response = 2). */
  depth: number;
  name: string;
  /** Given each streamed element as a tree node once it closes. */
  onElement?(node: XmlNode): void;
  /** Instead of onElement: told what is inside each streamed element as it is read, no node built. */
  reader?: ElementReader;
  /**
   * Told once the answer (a fault too) has wholly arrived, while the rest of it may still be parsed:
   * vCenter is done with the call, so a caller bounding the calls in flight can send its next one.
   */
  onReceived?: () => void;
}

/**
 * A reader of a streamed element told each parser event inside it, in place of the tree node
 * onElement gets: a QueryPerf answer has ~5 elements per sample, and a node (and garbage) for each
 * of them is what the reader of the few it needs does without (src/vsphere/perf-entity-reader.ts).
 */
export interface ElementReader {
  /**
   * An element opened: `name` is its local name, `attrs` its attributes by local name (xsi:type's
   * value without prefix, as in XmlNode), `depth` 0 for the streamed element, 1 for its children, ….
   */
  open(name: string, attrs: XmlAttrs, depth: number): void;
  /** Text directly inside the element opened last (character data, entities resolved; CDATA is not read). */
  text(text: string): void;
  /** The element opened last closed; at depth 0 the streamed element is complete. */
  close(depth: number): void;
  /**
   * Optional: at a start tag inside the streamed element (`i` just past its `<`), the index past
   * the end of the whole element when the reader read it straight from `s` itself, holding at most
   * `maxElements` elements (their count in `skimmed`), or -1 to be told its events as usual.
   * `prefixes` tells whether a namespace prefix is declared there.
   */
  skim?(s: string, i: number, n: number, maxElements: number, prefixes: PrefixBindings): number;
  /** Elements the last successful skim read. */
  readonly skimmed?: number;
}

/** The namespace prefixes declared where the parser is. */
export interface PrefixBindings {
  /** Changes whenever a prefix is declared or goes out of scope: a prefix found bound stays so until then. */
  readonly version: number;
  /** Whether `prefix` is declared here. */
  bound(prefix: string): boolean;
}

/** What a stream's reader (or onElement) threw, as the answer's error: a bad answer, not a broken connection. */
export function readerError(name: string, e: unknown): VsphereError {
  return e instanceof VsphereError
    ? e
    : new VsphereError(
        'VSPHERE_BAD_RESPONSE',
        `unreadable ${name} element: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
}
