import { isXmlChar } from './xml-limits.js';
import { XmlSyntaxError } from './xml-markup.js';

const PREDEFINED = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
]);
// What has been read of a reference.
const E_START = 0;
const E_NAMED = 1;
const E_HASH = 2;
const E_DEC = 3;
const E_HEX_START = 4;
const E_HEX = 5;
// The characters of a reference kept to name it in replacements.
const MAX_REF = 12;

function fail(message: string): never {
  throw new XmlSyntaxError(message);
}

/**
 * One reference after its `&`, read across chunks: the five predefined entities and decimal or
 * hexadecimal character references, nothing else (no DTD, so no other entity exists).
 */
export class ReferenceReader {
  private kind = E_START;
  private name = '';
  private cp = 0;
  /** The reference as sent, its first characters (`#x1b`), to name it. */
  raw = '';

  /** Starts a new reference (after its `&`). */
  start(): void {
    this.kind = E_START;
    this.name = '';
    this.cp = 0;
    this.raw = '';
  }

  /** Reads from `i`: returns the index of the `;` that ends the reference, or `n`. Throws when it cannot be one. */
  read(s: string, i: number, n: number): number {
    const from = i;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3b) break;
      const kind = this.kind;
      if (kind === E_START) {
        if (c === 0x23) this.kind = E_HASH;
        else {
          this.kind = E_NAMED;
          this.name = s[i]!;
        }
      } else if (kind === E_NAMED) {
        if (this.name.length >= 4) fail('undefined entity');
        this.name += s[i];
      } else if (kind === E_HASH && c === 0x78) {
        this.kind = E_HEX_START;
      } else if (kind === E_HEX_START || kind === E_HEX) {
        const l = c | 0x20;
        const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
        if (d < 0) fail('malformed character reference');
        this.kind = E_HEX;
        this.cp = Math.min(this.cp * 16 + d, 0x110000);
      } else {
        if (c < 0x30 || c > 0x39) fail('malformed character reference');
        this.kind = E_DEC;
        this.cp = Math.min(this.cp * 10 + (c - 0x30), 0x110000);
      }
    }
    if (this.raw.length < MAX_REF) this.raw = (this.raw + s.slice(from, i)).slice(0, MAX_REF);
    return i;
  }

  /** The text the complete reference stands for; undefined for a character XML forbids (`&#x1b;`). */
  value(): string | undefined {
    const kind = this.kind;
    if (kind === E_NAMED) {
      const out = PREDEFINED.get(this.name);
      if (out === undefined) fail('undefined entity');
      return out;
    }
    if (kind !== E_DEC && kind !== E_HEX) fail('malformed character reference');
    return isXmlChar(this.cp) ? String.fromCodePoint(this.cp) : undefined;
  }
}
