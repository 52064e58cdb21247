import { charRefCodePoint, isXmlChar } from './xml-limits.js';

// saxes has no options for either hook below: each wraps one of its internal methods, and does
// nothing (returns false) when a saxes release no longer has it.

/**
 * Routes each attribute saxes reads through `accept` before saxes stores it: one element with
 * millions of attributes is stopped within the chunk that crosses the bound, and saxes keeps no
 * more of them. (Its 'attribute' event would do, but a handler on it made every answer parse ~4
 * times slower.) Returns whether the hook is in place.
 */
export function boundAttributes(parser: object, accept: (name: string) => boolean): boolean {
  const sax = parser as { pushAttrib?: (name: string, value: string) => void };
  const push = sax.pushAttrib;
  if (typeof push !== 'function') return false;
  sax.pushAttrib = (name: string, value: string): void => {
    if (accept(name)) push.call(parser, name, value);
  };
  return true;
}

// Character references replaced by U+FFFD that the log names (the count covers all of them).
const MAX_REPORTED_REFS = 5;

/** Character references to characters XML 1.0 forbids, read as U+FFFD (see SoapXmlParser). */
export interface CharRefReplacements {
  count: number;
  /** The first few references as sent (e.g. `&#x1b;`) and the element they were in. */
  refs: { ref: string; element: string }[];
}

/**
 * Character references to characters XML 1.0 forbids (`&#x1b;` in a VM name typed or pasted by
 * someone) are read as U+FFFD instead of failing the whole answer; `into` lists them, each with
 * the name of the element being read (`element()`).
 */
export function lenientCharRefs(parser: object, into: CharRefReplacements, element: () => string): boolean {
  const sax = parser as { parseEntity?: (entity: string) => string };
  const strict = sax.parseEntity;
  if (typeof strict !== 'function') return false;
  sax.parseEntity = (entity: string): string => {
    const cp = entity.startsWith('#') ? charRefCodePoint(entity) : undefined;
    if (cp === undefined || isXmlChar(cp)) return strict.call(parser, entity);
    if (++into.count <= MAX_REPORTED_REFS)
      into.refs.push({ ref: `&${entity.slice(0, 12)};`, element: element() });
    return '\uFFFD';
  };
  return true;
}
