import { ASCII_NAME, TEXT_STOP } from './soap/xml-chars.js';
import { unslice } from './values.js';
import type { PrefixBindings } from './soap/stream-spec.js';

/** One series element as scanSeries read it. */
export interface ScannedSeries {
  /** Elements the series held (value, id, counterId, instance and each sample value). */
  elements: number;
  counterId: number;
  instance: string;
  /** The series' newest value, NaN when it has none (an empty series, an empty field, no value). */
  value: number;
  /**
   * Kept from series to series: the last series' text up to its counter id, found valid
   * (`value xsi:type="PerfMetricIntSeries"><id><counterId>`), and where its attribute's prefix
   * ends (0: none). Every series of an answer starts the same way, so the next is compared with it
   * in one go; only the prefix's binding is looked up again.
   */
  head?: string;
  headPrefixEnd?: number;
  /** PrefixBindings.version when the head's prefix was last found bound. */
  headVersion?: number;
}

// The series vCenter and vcsim write, whole, with nothing between tags:
//   <value xsi:type="PerfMetricIntSeries"><id><counterId>6</counterId><instance></instance></id>
//   <value>123</value>…</value>
// (the attribute is optional; csv answers have one <value>v1,v2,…</value>). Anything else (white
// space, references, comments, other attributes, a series cut by the chunk's end) is not read here.
const ID_OPEN = '<id><counterId>';
const COUNTER_CLOSE = '</counterId>';
const INSTANCE_OPEN = '<instance>';
const INSTANCE_EMPTY = '<instance/>';
const INSTANCE_CLOSE = '</instance>';
const ID_CLOSE = '</id>';
// The aggregate instance as nearly every series writes it: one comparison instead of four.
const AGGREGATE_ID_REST = '</counterId><instance></instance></id>';
const VALUE_OPEN = '<value>';
const VALUE_CLOSE = '</value>';
// Up to 15 digits a double holds the integer exactly.
const MAX_DIGITS = 15;

/**
 * Reads a QueryPerf series element of the plain form above straight from the decoded text: `i`
 * is the index just past its `<`. Returns the index past its end tag, having filled `out`, or -1
 * when the element is not of that form (or not whole in `s`), so the parser reads it as usual.
 * `prefixes` tells whether a namespace prefix is declared where the element is.
 */
export function scanSeries(
  s: string,
  i: number,
  n: number,
  csv: boolean,
  prefixes: PrefixBindings,
  out: ScannedSeries,
): number {
  let j = seriesHead(s, i, n, prefixes, out);
  if (j < 0) return -1;
  let counterId = 0;
  const digits = j;
  for (; j < n && j - digits <= MAX_DIGITS; j++) {
    const d = s.charCodeAt(j) - 48;
    if (d < 0 || d > 9) break;
    counterId = counterId * 10 + d;
  }
  if (j === digits || j - digits > MAX_DIGITS) return -1;
  let instance = '';
  if (has(s, j, n, AGGREGATE_ID_REST)) j += AGGREGATE_ID_REST.length;
  else {
    if (!has(s, j, n, COUNTER_CLOSE)) return -1;
    j += COUNTER_CLOSE.length;
    if (has(s, j, n, INSTANCE_EMPTY)) j += INSTANCE_EMPTY.length;
    else {
      if (!has(s, j, n, INSTANCE_OPEN)) return -1;
      j += INSTANCE_OPEN.length;
      const start = j;
      for (; j < n; j++) {
        const t = s.charCodeAt(j);
        if (t >= 0x80 || TEXT_STOP[t] !== 0) break;
      }
      if (!has(s, j, n, INSTANCE_CLOSE)) return -1;
      if (j > start) instance = s.slice(start, j);
      j += INSTANCE_CLOSE.length;
    }
    if (!has(s, j, n, ID_CLOSE)) return -1;
    j += ID_CLOSE.length;
  }
  let elements = 4;
  let value = Number.NaN;
  while (has(s, j, n, VALUE_OPEN)) {
    // The csv form has one list; a second one is left to the parser, which keeps the first.
    if (csv && elements > 4) return -1;
    j += VALUE_OPEN.length;
    // A hostile megabyte of value text is left to the parser after 4 KiB, not read twice.
    const stop = Math.min(n, j + 4097);
    let end = j;
    while (end < stop && s.charCodeAt(end) !== 0x3c) end++;
    if (end - j > 4096 || !has(s, end, n, VALUE_CLOSE)) return -1;
    const read = csv ? csvLatest(s, j, end) : plainInteger(s, j, end);
    if (read === undefined) return -1;
    value = read;
    j = end + VALUE_CLOSE.length;
    elements++;
  }
  if (!has(s, j, n, VALUE_CLOSE)) return -1;
  out.elements = elements;
  out.counterId = counterId;
  out.instance = instance;
  out.value = value;
  return j + VALUE_CLOSE.length;
}

/** The index past `<id><counterId>` of the series starting at `i`, or -1 when it does not start as read here. */
function seriesHead(s: string, i: number, n: number, prefixes: PrefixBindings, out: ScannedSeries): number {
  const head = out.head;
  if (head !== undefined && has(s, i, n, head)) {
    const end = out.headPrefixEnd ?? 0;
    // The last series' prefix: still bound unless a declaration came or went since (~240,000
    // series a scrape at 10,000 VMs, each a lookup otherwise). "value " is 6 characters.
    if (end > 0 && out.headVersion !== prefixes.version) {
      if (!prefixes.bound(s.slice(i + 6, i + end))) return -1;
      out.headVersion = prefixes.version;
    }
    return i + head.length;
  }
  if (!has(s, i, n, 'value')) return -1;
  let j = i + 5;
  if (j >= n) return -1;
  let prefixEnd = 0;
  const c = s.charCodeAt(j);
  if (c === 0x20) {
    j = typeAttribute(s, j + 1, n, prefixes);
    if (j < 0) return -1;
    // The attribute's name (valid now) ends at its "=": a colon in it ends the prefix.
    for (let k = i + 6; s.charCodeAt(k) !== 0x3d; k++)
      if (s.charCodeAt(k) === 0x3a) {
        prefixEnd = k - i;
        break;
      }
  } else if (c !== 0x3e) return -1;
  j++;
  if (!has(s, j, n, ID_OPEN)) return -1;
  j += ID_OPEN.length;
  // Copied: a slice would keep the whole chunk alive.
  out.head = unslice(s.slice(i, j));
  out.headPrefixEnd = prefixEnd;
  out.headVersion = prefixes.version;
  return j;
}

/**
 * One `name="value"` attribute and the `>` after it, from `j`: a name of ASCII name characters,
 * its prefix (if any) declared and not xmlns (a declaration is left to the parser), a value of
 * letters, digits and `:_.-`. Returns the index of the `>`, or -1.
 */
function typeAttribute(s: string, j: number, n: number, prefixes: PrefixBindings): number {
  const start = j;
  let colon = -1;
  for (; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x3a) {
      if (colon >= 0) return -1;
      colon = j;
    } else if (c >= 0x80 || ASCII_NAME[c] === 0) break;
  }
  if (j + 1 >= n || s.charCodeAt(j) !== 0x3d || s.charCodeAt(j + 1) !== 0x22) return -1;
  const nameEnd = j;
  if (!nameStart(s, start) || (colon >= 0 && (!nameStart(s, colon + 1) || colon + 1 === nameEnd))) return -1;
  if (colon < 0 ? s.startsWith('xmlns', start) && nameEnd === start + 5 : s.startsWith('xmlns:', start))
    return -1;
  if (colon >= 0 && !prefixes.bound(s.slice(start, colon))) return -1;
  for (j += 2; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x80 || (ASCII_NAME[c] === 0 && c !== 0x3a)) break;
  }
  if (j + 1 >= n || s.charCodeAt(j) !== 0x22 || s.charCodeAt(j + 1) !== 0x3e) return -1;
  return j + 1;
}

/** Whether `lit` is at `j` in `s`. */
function has(s: string, j: number, n: number, lit: string): boolean {
  const m = lit.length;
  // Never read past the end: an out-of-range charCodeAt makes V8 recompile every caller slower.
  if (j + m > n) return false;
  // A slice compared whole (V8 compares flat strings several bytes at a time) is ~2x faster than
  // charCodeAt pairs from 7 characters on; shorter ones are compared pair by pair.
  if (m >= 7) return s.slice(j, j + m) === lit;
  for (let k = 0; k < m; k++) if (s.charCodeAt(j + k) !== lit.charCodeAt(k)) return false;
  return true;
}

/** Whether a name's first character (of a prefix or local part) is a letter or `_`. */
function nameStart(s: string, j: number): boolean {
  const c = s.charCodeAt(j);
  return c < 0x80 && ASCII_NAME[c] === 2 && c !== 0x3a;
}

/**
 * `-?digits` in s[j, end) as a number (up to 15 digits, which a double holds exactly, so it is what
 * Number() gives); NaN for empty text; undefined for anything else, which only Number() reads.
 */
export function plainInteger(s: string, j: number, end: number): number | undefined {
  if (j === end) return Number.NaN;
  const negative = s.charCodeAt(j) === 0x2d;
  if (negative) j++;
  if (j === end || end - j > MAX_DIGITS) return undefined;
  let v = 0;
  for (; j < end; j++) {
    const d = s.charCodeAt(j) - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return negative ? -v : v;
}

/** The last field of a csv list in s[j, end) (`v1,v2,…`); NaN when it is empty, undefined when it is not `-?digits`. */
function csvLatest(s: string, j: number, end: number): number | undefined {
  let last = j;
  for (let k = j; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x2c) last = k + 1;
    else if (c !== 0x2d && (c < 0x30 || c > 0x39)) return undefined;
  }
  return plainInteger(s, last, end);
}
