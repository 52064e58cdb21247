import { isXmlChar } from './xml-limits.js';
import {
  ASCII_NAME,
  TEXT_STOP,
  VALUE_STOP,
  codePointAt,
  isNameStartCode,
  isSpace,
  nameEnd,
} from './xml-chars.js';
import * as M from './xml-markup.js';

/** What the tokenizer tells its reader (SoapXmlParser), in document order. */
export interface XmlTokenHandler {
  /** A start tag: its qualified name and its `count` attributes, names and values in `names`/`values` (reused). */
  openTag(name: string, count: number, names: readonly string[], values: readonly string[]): void;
  /** The end of the element opened last (for `<a/>`, right after its openTag). */
  closeTag(): void;
  /** Character data inside the root, entities resolved, CR LF read as LF; one element's text may come in pieces. */
  text(text: string): void;
  /** A character reference to a character XML forbids (`&#x1b;`), read as U+FFFD; `element` is the innermost open one. */
  replaced(ref: string, element: string): void;
}

const PREDEFINED = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
]);
// Entity kinds while a reference is read.
const E_START = 0;
const E_NAMED = 1;
const E_HASH = 2;
const E_DEC = 3;
const E_HEX_START = 4;
const E_HEX = 5;
// The characters of a reference kept to name it in replacements.
const MAX_REF = 12;

/**
 * A streaming tokenizer of XML 1.0 in the strict well-formedness saxes applied (without DTDs:
 * a DOCTYPE is refused), fed decoded string chunks. Every character is read once with charCodeAt;
 * a token split across chunks resumes where it stopped; only names, attribute values and text
 * handed over are cut out as strings. Throws XmlSyntaxError at the first fault.
 */
export class XmlTokenizer extends M.XmlMarkup {
  /** Absolute position (characters) just past the token last reported. */
  position = 0;
  private begun = false;
  private ended = false;
  private sawRoot = false;
  private rootClosed = false;
  /** A trailing CR or high surrogate held for the next chunk (CR LF is one line end). */
  private carry = '';
  /** Text read but not yet reported, and `]`s just before the current run (for `]]>`). */
  private txt = '';
  private brackets = 0;
  /** The name being read; the start tag's name once it is read. */
  private name = '';
  private tag = '';
  private count = 0;
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  /** Whether white space came since the tag's name or its last attribute value. */
  private spaced = false;
  private quote = 0;
  private value = '';
  private entReturn = M.S_TEXT;
  private entKind = E_START;
  private entName = '';
  private entCp = 0;
  private entRaw = '';

  constructor(
    private readonly handler: XmlTokenHandler,
    private readonly maxAttributes: number,
  ) {
    super();
  }

  /** Reads one decoded chunk. */
  write(chunk: string): void {
    let s = chunk;
    if (this.carry !== '') {
      s = this.carry + s;
      this.carry = '';
    }
    let n = s.length;
    if (n === 0) return;
    if (!this.ended) {
      const last = s.charCodeAt(n - 1);
      if (last === 0xd || (last >= 0xd800 && last <= 0xdbff)) {
        this.carry = s[n - 1]!;
        if (--n === 0) return;
      }
    }
    let i = 0;
    if (!this.begun) {
      this.begun = true;
      // A byte order mark is no character of the document.
      if (s.charCodeAt(0) === 0xfeff) i = this.docStart = 1;
    }
    while (i < n) {
      switch (this.state) {
        case M.S_TEXT:
          i = this.depth > 0 ? this.textAt(s, i, n) : this.outsideAt(s, i, n);
          break;
        case M.S_LT:
          i = this.ltAfter(s, i, n);
          break;
        case M.S_OPEN_NAME:
        case M.S_ATTR_NAME:
        case M.S_CLOSE_NAME:
          i = this.nameAt(s, i, n);
          break;
        case M.S_ATTRS:
          i = this.attrsAt(s, i, n);
          break;
        case M.S_ATTR_EQ:
        case M.S_ATTR_QUOTE:
        case M.S_CLOSE_END:
          i = this.beforeAt(s, i, n);
          break;
        case M.S_ATTR_VALUE:
          i = this.valueAt(s, i, n);
          break;
        case M.S_SLASH:
          if (s.charCodeAt(i) !== 0x3e) this.fail('"/" in a start tag not followed by ">"');
          i = this.opened(i + 1, true);
          break;
        case M.S_ENTITY:
          i = this.entityAt(s, i, n);
          break;
        case M.S_BANG:
          i = this.bangAt(s, i, n);
          break;
        case M.S_COMMENT:
          i = this.commentAt(s, i, n);
          break;
        case M.S_COMMENT_END:
          i = this.commentEndAt(s, i);
          break;
        case M.S_CDATA:
          i = this.cdataAt(s, i, n);
          break;
        case M.S_PI_TARGET:
          i = this.piTargetAt(s, i, n);
          break;
        case M.S_PI_BODY:
          i = this.piBodyAt(s, i, n);
          break;
        case M.S_DECL:
          i = this.declAt(s, i, n);
          break;
        default:
          i = this.declEndAt(s, i);
      }
    }
    this.base += n;
    if (this.txt !== '') {
      const t = this.txt;
      this.txt = '';
      this.position = this.base;
      this.handler.text(t);
    }
  }

  /** The document ends: throws unless it was one whole root element. */
  end(): void {
    this.ended = true;
    if (this.carry !== '') this.write('');
    if (this.state !== M.S_TEXT) this.fail('unexpected end of document');
    if (this.depth > 0) this.fail(`unclosed tag: ${this.tags[this.depth - 1]}`);
    if (!this.sawRoot) this.fail('document must contain a root element');
  }

  protected fail(message: string): never {
    throw new M.XmlSyntaxError(message);
  }

  /** Character data inside the root element, up to the next `<`. */
  private textAt(s: string, i: number, n: number): number {
    let start = i;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (TEXT_STOP[c] === 0) continue;
        if (c === 0x3c) {
          const t = this.txt === '' ? s.slice(start, i) : this.txt + s.slice(start, i);
          this.txt = '';
          this.state = M.S_LT;
          this.ltAt = this.base + i;
          if (t !== '') {
            this.position = this.base + i;
            this.handler.text(t);
          }
          return i + 1;
        }
        if (c === 0x26) {
          this.txt += s.slice(start, i);
          this.entity(M.S_TEXT);
          return i + 1;
        }
        if (c === 0x3e) {
          let j = i - 1;
          while (j >= start && i - j <= 2 && s.charCodeAt(j) === 0x5d) j--;
          let k = i - 1 - j;
          if (k < 2 && j < start) k += this.brackets;
          if (k >= 2) this.fail('the string "]]>" is not allowed in character data');
          continue;
        }
        if (c !== 0xd) this.fail('disallowed character');
        this.txt += s.slice(start, i) + '\n';
        if (s.charCodeAt(i + 1) === 0xa) i++;
        start = i + 1;
        this.brackets = 0;
      } else if (c >= 0xd800) i = this.wide(s, i, c);
    }
    let k = 0;
    for (let j = n - 1; k < 2 && j >= start && s.charCodeAt(j) === 0x5d; j--) k++;
    this.brackets = k === n - start ? Math.min(2, k + this.brackets) : k;
    this.txt += s.slice(start, n);
    return n;
  }

  /** Before or after the root element: white space only. */
  private outsideAt(s: string, i: number, n: number): number {
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3c) {
        this.state = M.S_LT;
        this.ltAt = this.base + i;
        return i + 1;
      }
      if (!isSpace(c)) this.fail('text data outside of root node');
    }
    return n;
  }

  /** After `<`: a start tag, an end tag, or markup. */
  private ltAfter(s: string, i: number, n: number): number {
    const c = s.charCodeAt(i);
    this.brackets = 0;
    if (c === 0x2f) {
      // The usual end tag names the element it closes, whole within the chunk.
      const open = this.tags[this.depth - 1];
      if (open !== undefined && s.startsWith(open, i + 1) && s.charCodeAt(i + 1 + open.length) === 0x3e)
        return this.closed(i + 2 + open.length, true);
      this.name = '';
      this.state = M.S_CLOSE_NAME;
      return i + 1;
    }
    if (c === 0x21) {
      this.state = M.S_BANG;
      return i + 1;
    }
    if (c === 0x3f) {
      this.state = M.S_PI_TARGET;
      return i + 1;
    }
    if (c < 0x80 ? ASCII_NAME[c] !== 2 : !isNameStartCode(codePointAt(s, i)))
      this.fail('disallowed character in tag name');
    if (this.rootClosed) this.fail('more than one root element');
    this.name = '';
    this.count = 0;
    this.state = M.S_OPEN_NAME;
    return this.nameAt(s, i, n);
  }

  /** A start tag's, attribute's or end tag's name, and the character that ends it. */
  private nameAt(s: string, i: number, n: number): number {
    const end = nameEnd(s, i, n);
    this.name = this.name === '' ? s.slice(i, end) : this.name + s.slice(i, end);
    if (end === n) return n;
    const c = s.charCodeAt(end);
    const space = isSpace(c);
    switch (this.state) {
      case M.S_OPEN_NAME:
        this.tag = this.name;
        if (c === 0x3e) return this.opened(end + 1, false);
        if (c === 0x2f) this.state = M.S_SLASH;
        else if (space) {
          this.spaced = true;
          this.state = M.S_ATTRS;
        } else this.fail('disallowed character in tag name');
        return end + 1;
      case M.S_ATTR_NAME:
        this.attribute(this.name);
        if (c === 0x3d) this.state = M.S_ATTR_QUOTE;
        else if (space) this.state = M.S_ATTR_EQ;
        else this.fail('attribute without value');
        return end + 1;
      default:
        if (this.name === '') this.fail('end tag without a name');
        if (c === 0x3e) return this.closed(end + 1, false);
        if (!space) this.fail('disallowed character in end tag');
        this.state = M.S_CLOSE_END;
        return end + 1;
    }
  }

  /** Inside a start tag, between attributes. */
  private attrsAt(s: string, i: number, n: number): number {
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) {
        this.spaced = true;
        continue;
      }
      if (c === 0x3e) return this.opened(i + 1, false);
      if (c === 0x2f) {
        this.state = M.S_SLASH;
        return i + 1;
      }
      if (c < 0x80 ? ASCII_NAME[c] !== 2 : !isNameStartCode(codePointAt(s, i)))
        this.fail('disallowed character in attribute name');
      if (!this.spaced) this.fail('no whitespace between attributes');
      this.name = '';
      this.state = M.S_ATTR_NAME;
      return this.nameAt(s, i, n);
    }
    return n;
  }

  /** White space, then `=` (after an attribute's name), a quote (after `=`) or `>` (in an end tag). */
  private beforeAt(s: string, i: number, n: number): number {
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) continue;
      if (this.state === M.S_ATTR_EQ) {
        if (c !== 0x3d) this.fail('attribute without value');
        this.state = M.S_ATTR_QUOTE;
      } else if (this.state === M.S_ATTR_QUOTE) {
        if (c !== 0x22 && c !== 0x27) this.fail('unquoted attribute value');
        this.quote = c;
        this.value = '';
        this.state = M.S_ATTR_VALUE;
      } else {
        if (c !== 0x3e) this.fail('disallowed character in end tag');
        return this.closed(i + 1, false);
      }
      return i + 1;
    }
    return n;
  }

  /** A quoted attribute value: entities expanded, TAB, LF, CR and CR LF each read as one space. */
  private valueAt(s: string, i: number, n: number): number {
    let start = i;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (VALUE_STOP[c] === 0) continue;
        if (c === this.quote) {
          this.values[this.count - 1] = this.value + s.slice(start, i);
          this.value = '';
          this.spaced = false;
          this.state = M.S_ATTRS;
          return i + 1;
        }
        if (c === 0x22 || c === 0x27) continue;
        if (c === 0x26) {
          this.value += s.slice(start, i);
          this.entity(M.S_ATTR_VALUE);
          return i + 1;
        }
        if (c === 0x3c) this.fail('"<" in an attribute value');
        if (c !== 0x9 && c !== 0xa && c !== 0xd) this.fail('disallowed character');
        this.value += s.slice(start, i) + ' ';
        if (c === 0xd && s.charCodeAt(i + 1) === 0xa) i++;
        start = i + 1;
      } else if (c >= 0xd800) i = this.wide(s, i, c);
    }
    this.value += s.slice(start, n);
    return n;
  }

  /** Counts an attribute as its name is read: one element with millions of them stops at the bound. */
  private attribute(name: string): void {
    const count = this.count;
    if (count >= this.maxAttributes) this.fail(`an element with more than ${this.maxAttributes} attributes`);
    const names = this.names;
    for (let k = 0; k < count; k++) if (names[k] === name) this.fail(`duplicate attribute: ${name}`);
    names[count] = name;
    this.values[count] = '';
    this.count = count + 1;
  }

  /** The start tag ended at `i` (the index past `>`). */
  private opened(i: number, empty: boolean): number {
    this.state = M.S_TEXT;
    this.sawRoot = true;
    const name = this.tag;
    this.position = this.base + i;
    this.handler.openTag(name, this.count, this.names, this.values);
    if (empty) {
      this.handler.closeTag();
      if (this.depth === 0) this.rootClosed = true;
    } else this.tags[this.depth++] = name;
    return i;
  }

  /** An end tag ended at `i`; `matched` when the fast path found it names the open element. */
  private closed(i: number, matched: boolean): number {
    this.state = M.S_TEXT;
    const depth = this.depth;
    if (depth === 0) this.fail('unexpected end tag');
    if (!matched && this.name !== this.tags[depth - 1]) this.fail(`unmatched end tag: ${this.name}`);
    this.depth = depth - 1;
    if (depth === 1) this.rootClosed = true;
    this.position = this.base + i;
    this.handler.closeTag();
    return i;
  }

  /** Starts reading a reference after its `&`, for text or an attribute value. */
  private entity(back: number): void {
    this.entReturn = back;
    this.state = M.S_ENTITY;
    this.entKind = E_START;
    this.entName = '';
    this.entCp = 0;
    this.entRaw = '';
    this.brackets = 0;
  }

  /** A reference after its `&`: one of the five predefined entities or a character reference. */
  private entityAt(s: string, i: number, n: number): number {
    const from = i;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3b) {
        this.entRaw = (this.entRaw + s.slice(from, i)).slice(0, MAX_REF);
        this.state = this.entReturn;
        const out = this.resolve();
        if (this.entReturn === M.S_TEXT) this.txt += out;
        else this.value += out;
        return i + 1;
      }
      const kind = this.entKind;
      if (kind === E_START) {
        if (c === 0x23) this.entKind = E_HASH;
        else {
          this.entKind = E_NAMED;
          this.entName = s[i]!;
        }
      } else if (kind === E_NAMED) {
        if (this.entName.length >= 4) this.fail('undefined entity');
        this.entName += s[i];
      } else if (kind === E_HASH && c === 0x78) {
        this.entKind = E_HEX_START;
      } else if (kind === E_HEX_START || kind === E_HEX) {
        const d =
          c >= 0x30 && c <= 0x39
            ? c - 0x30
            : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66
              ? (c | 0x20) - 0x57
              : -1;
        if (d < 0) this.fail('malformed character reference');
        this.entKind = E_HEX;
        this.entCp = Math.min(this.entCp * 16 + d, 0x110000);
      } else {
        if (c < 0x30 || c > 0x39) this.fail('malformed character reference');
        this.entKind = E_DEC;
        this.entCp = Math.min(this.entCp * 10 + (c - 0x30), 0x110000);
      }
    }
    if (this.entRaw.length < MAX_REF) this.entRaw = (this.entRaw + s.slice(from, n)).slice(0, MAX_REF);
    return n;
  }

  /** The text a complete reference stands for. */
  private resolve(): string {
    const kind = this.entKind;
    if (kind === E_NAMED) {
      const out = PREDEFINED.get(this.entName);
      if (out === undefined) this.fail('undefined entity');
      return out;
    }
    if (kind !== E_DEC && kind !== E_HEX) this.fail('malformed character reference');
    const cp = this.entCp;
    if (isXmlChar(cp)) return String.fromCodePoint(cp);
    // A control character typed into a VM name (`&#x1b;`) must not fail the whole answer.
    const top = this.tags[this.depth - 1] ?? '';
    this.handler.replaced(`&${this.entRaw};`, top.slice(top.indexOf(':') + 1));
    return '\uFFFD';
  }
}

export { XmlSyntaxError } from './xml-markup.js';
