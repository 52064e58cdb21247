import { isNameStartCode, isSpace, codePointAt, nameEnd } from './xml-chars.js';

/** A document that is not well-formed XML 1.0; the message says where it breaks. */
export class XmlSyntaxError extends Error {}

// States of the tokenizer (XmlTokenizer's `state`): the markup ones are read here.
export const S_TEXT = 0;
export const S_LT = 1;
export const S_OPEN_NAME = 2;
export const S_ATTRS = 3;
export const S_ATTR_NAME = 4;
export const S_ATTR_EQ = 5;
export const S_ATTR_QUOTE = 6;
export const S_ATTR_VALUE = 7;
export const S_SLASH = 8;
export const S_CLOSE_NAME = 9;
export const S_CLOSE_END = 10;
export const S_ENTITY = 11;
export const S_BANG = 12;
export const S_COMMENT = 13;
export const S_COMMENT_END = 14;
export const S_CDATA = 15;
export const S_PI_TARGET = 16;
export const S_PI_BODY = 17;
export const S_DECL = 18;
export const S_DECL_END = 19;

// The only pseudo-attributes an XML declaration may carry, in this order (XML 1.0 §2.8).
const S = '[ \\t\\r\\n]';
const DECL = new RegExp(
  `^${S}+version${S}*=${S}*(?:"1\\.[0-9]+"|'1\\.[0-9]+')` +
    `(?:${S}+encoding${S}*=${S}*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?` +
    `(?:${S}+standalone${S}*=${S}*(?:"(?:yes|no)"|'(?:yes|no)'))?${S}*$`,
);
// A declaration longer than this is no declaration a server writes; refused rather than held.
const MAX_DECL = 1024;

/**
 * The tokenizer's state and the markup it reads but does not report: comments, processing
 * instructions, the XML declaration, CDATA sections (whose content SoapXmlParser has never read)
 * and `<!` constructs (a DOCTYPE is refused on sight: no entity declarations, no billion laughs).
 * Each state method reads from `i` in the chunk `s` up to `n` and returns where it stopped.
 */
export abstract class XmlMarkup {
  protected state = S_TEXT;
  /** Chunk characters read before the current chunk; `position` is absolute. */
  protected base = 0;
  /** Where the document starts (after a byte order mark): the only place for an XML declaration. */
  protected docStart = 0;
  /** Absolute position of the `<` of the markup being read. */
  protected ltAt = 0;
  /** Open elements, as their qualified names. */
  protected readonly tags: string[] = [];
  protected depth = 0;
  private bang = '';
  /** Dashes, or `]`s, or whether the last character was `?`, just before `i`. */
  private run = 0;
  private piTarget = '';
  private decl = '';

  protected abstract fail(message: string): never;

  /** Checks the character at `i` (c), past ASCII or a control; returns the index of its last code unit. */
  protected wide(s: string, i: number, c: number): number {
    if (c < 0x20) {
      if (c !== 0x9 && c !== 0xa && c !== 0xd) this.fail('disallowed character');
      return i;
    }
    if (c < 0xd800) return i;
    if (c <= 0xdbff) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) return i + 1;
    } else if (c >= 0xe000 && c <= 0xfffd) return i;
    return this.fail('disallowed character');
  }

  /** After `<!`: a comment, a CDATA section or a DOCTYPE, told apart by up to 7 characters. */
  protected bangAt(s: string, i: number, n: number): number {
    for (; i < n; i++) {
      const b = (this.bang += s[i]);
      if (b === '--') {
        this.state = S_COMMENT;
      } else if (b === '[CDATA[') {
        if (this.depth === 0) this.fail('text data outside of root node');
        this.state = S_CDATA;
      } else if (b === 'DOCTYPE') {
        this.fail('a DOCTYPE is not allowed in a SOAP response');
      } else if ('--'.startsWith(b) || '[CDATA['.startsWith(b) || 'DOCTYPE'.startsWith(b)) {
        continue;
      } else this.fail('incorrect syntax after <!');
      this.bang = '';
      this.run = 0;
      return i + 1;
    }
    return n;
  }

  /** Inside `<!--`: the first `--` must be the comment's end. */
  protected commentAt(s: string, i: number, n: number): number {
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x2d) {
        if (++this.run === 2) {
          this.state = S_COMMENT_END;
          return i + 1;
        }
        continue;
      }
      this.run = 0;
      if (c < 0x20 || c >= 0xd800) i = this.wide(s, i, c);
    }
    return n;
  }

  protected commentEndAt(s: string, i: number): number {
    if (s.charCodeAt(i) !== 0x3e) this.fail('"--" inside a comment');
    this.state = S_TEXT;
    return i + 1;
  }

  /** Inside `<![CDATA[`, up to `]]>`. */
  protected cdataAt(s: string, i: number, n: number): number {
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x5d) {
        this.run++;
        continue;
      }
      if (c === 0x3e && this.run >= 2) {
        this.state = S_TEXT;
        return i + 1;
      }
      this.run = 0;
      if (c < 0x20 || c >= 0xd800) i = this.wide(s, i, c);
    }
    return n;
  }

  /** After `<?`: the target's name, then its body or the XML declaration. */
  protected piTargetAt(s: string, i: number, n: number): number {
    if (this.piTarget === '' && !isNameStartCode(codePointAt(s, i)))
      this.fail('disallowed character in processing instruction target');
    const end = nameEnd(s, i, n);
    // Only whether the target is `xml` matters: four characters tell.
    if (this.piTarget.length < 4)
      this.piTarget = (this.piTarget + s.slice(i, Math.min(end, i + 4))).slice(0, 4);
    if (end === n) return n;
    const c = s.charCodeAt(end);
    if (c !== 0x3f && !isSpace(c)) this.fail('disallowed character in processing instruction target');
    const target = this.piTarget;
    this.piTarget = '';
    if (target === 'xml' && this.ltAt === this.docStart) {
      this.decl = '';
      this.state = S_DECL;
      return end;
    }
    if (target.toLowerCase() === 'xml') this.fail('an XML declaration must be at the start of the document');
    this.run = c === 0x3f ? 1 : 0;
    this.state = S_PI_BODY;
    return end + 1;
  }

  protected piBodyAt(s: string, i: number, n: number): number {
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x3e && this.run === 1) {
        this.state = S_TEXT;
        return i + 1;
      }
      this.run = c === 0x3f ? 1 : 0;
      if (c < 0x20 || c >= 0xd800) i = this.wide(s, i, c);
    }
    return n;
  }

  /** The XML declaration's pseudo-attributes, up to the `?` that must end them. */
  protected declAt(s: string, i: number, n: number): number {
    let end = s.indexOf('?', i);
    if (end < 0 || end > n) end = n;
    for (let k = i; k < end; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x20 || c >= 0xd800) k = this.wide(s, k, c);
    }
    this.decl += s.slice(i, end);
    if (this.decl.length > MAX_DECL) this.fail('XML declaration too long');
    if (end === n) return n;
    if (!DECL.test(this.decl)) this.fail('malformed XML declaration');
    this.decl = '';
    this.state = S_DECL_END;
    return end + 1;
  }

  protected declEndAt(s: string, i: number): number {
    if (s.charCodeAt(i) !== 0x3e) this.fail('the character ? is not allowed in an XML declaration');
    this.state = S_TEXT;
    return i + 1;
  }
}
