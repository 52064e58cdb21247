import { TEXT_STOP, isSpace } from './xml-chars.js';
import * as M from './xml-markup.js';
import { ReferenceReader } from './xml-references.js';
import { shown, XmlTags } from './xml-tags.js';

export type { XmlTokenHandler } from './xml-tags.js';
export { XmlSyntaxError } from './xml-markup.js';

/**
 * A streaming tokenizer of XML 1.0 in the strict well-formedness saxes applied (without DTDs:
 * a DOCTYPE is refused), fed decoded string chunks. Every character is read once with charCodeAt;
 * a token split across chunks resumes where it stopped; only names, attribute values and text
 * handed over are cut out as strings. Throws XmlSyntaxError at the first fault.
 */
export class XmlTokenizer extends XmlTags {
  private begun = false;
  private ended = false;
  /** A trailing CR or high surrogate held for the next chunk (CR LF is one line end). */
  private carry = '';
  /** Text read but not yet reported, and `]`s just before the current run (for `]]>`). */
  private txt = '';
  private brackets = 0;
  private readonly ref = new ReferenceReader();
  private refReturn = M.S_TEXT;

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
          i = this.referenceAt(s, i, n);
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
    if (this.depth > 0) this.fail(`unclosed tag: ${shown(this.tags[this.depth - 1]!)}`);
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
          this.brackets = 0;
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
          this.reference(M.S_TEXT);
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

  /** Starts reading a reference after its `&`, for text or an attribute value. */
  protected reference(back: number): void {
    this.refReturn = back;
    this.state = M.S_ENTITY;
    this.ref.start();
    this.brackets = 0;
  }

  /** A reference after its `&`, then back to the text or value it is in. */
  private referenceAt(s: string, i: number, n: number): number {
    const end = this.ref.read(s, i, n);
    if (end === n) return n;
    this.state = this.refReturn;
    let out = this.ref.value();
    if (out === undefined) {
      // A control character typed into a VM name (`&#x1b;`) must not fail the whole answer.
      const top = this.tags[this.depth - 1] ?? '';
      this.handler.replaced(`&${this.ref.raw};`, top.slice(top.indexOf(':') + 1));
      out = '\uFFFD';
    }
    if (this.refReturn === M.S_TEXT) this.txt += out;
    else this.value += out;
    return end + 1;
  }
}
