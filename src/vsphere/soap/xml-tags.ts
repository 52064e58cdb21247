import { ASCII_NAME, VALUE_STOP, codePointAt, isNameStartCode, isSpace, nameEnd } from './xml-chars.js';
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
  /**
   * At a start tag (`i` just past its `<`): the index past the end of the whole element when the
   * handler read it straight from `s` (its events are then not reported), or -1 to tokenize it.
   */
  skim?(s: string, i: number, n: number): number;
}

/** A name for an error message: a hostile one may be megabytes long. */
export function shown(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

/**
 * Start and end tags: names (ASCII fast path, XML 1.0 name characters past it), attributes
 * (quoted, unique, counted as they are read, values normalised) and element nesting.
 */
export abstract class XmlTags extends M.XmlMarkup {
  /** Absolute position (characters) just past the token last reported. */
  position = 0;
  protected sawRoot = false;
  private rootClosed = false;
  /** The name being read; the start tag's name once it is read. */
  private name = '';
  private tag = '';
  private count = 0;
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  /** Whether white space came since the tag's name or its last attribute value. */
  private spaced = false;
  private quote = 0;
  /** The attribute value read so far. */
  protected value = '';

  constructor(
    protected readonly handler: XmlTokenHandler,
    private readonly maxAttributes: number,
  ) {
    super();
  }

  /** Starts a reference at `&` in text (S_TEXT) or in an attribute value (S_ATTR_VALUE). */
  protected abstract reference(back: number): void;

  /** After `<`: a start tag, an end tag, or markup. */
  protected ltAfter(s: string, i: number, n: number): number {
    const c = s.charCodeAt(i);
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
    if (this.handler.skim !== undefined && this.depth > 0) {
      const end = this.handler.skim(s, i, n);
      if (end >= 0) {
        this.state = M.S_TEXT;
        this.position = this.base + end;
        return end;
      }
    }
    this.name = '';
    this.count = 0;
    this.state = M.S_OPEN_NAME;
    return this.nameAt(s, i, n);
  }

  /** A start tag's, attribute's or end tag's name, and the character that ends it. */
  protected nameAt(s: string, i: number, n: number): number {
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
  protected attrsAt(s: string, i: number, n: number): number {
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
  protected beforeAt(s: string, i: number, n: number): number {
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
  protected valueAt(s: string, i: number, n: number): number {
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
          this.reference(M.S_ATTR_VALUE);
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
    for (let k = 0; k < count; k++) if (names[k] === name) this.fail(`duplicate attribute: ${shown(name)}`);
    names[count] = name;
    this.values[count] = '';
    this.count = count + 1;
  }

  /** The start tag ended at `i` (the index past `>`). */
  protected opened(i: number, empty: boolean): number {
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
  protected closed(i: number, matched: boolean): number {
    this.state = M.S_TEXT;
    const depth = this.depth;
    if (depth === 0) this.fail('unexpected end tag');
    if (!matched && this.name !== this.tags[depth - 1]) this.fail(`unmatched end tag: ${shown(this.name)}`);
    this.depth = depth - 1;
    if (depth === 1) this.rootClosed = true;
    this.position = this.base + i;
    this.handler.closeTag();
    return i;
  }
}
