// Character classes of XML 1.0 (fifth edition) as the tokenizer reads them off a chunk with
// charCodeAt: tables for ASCII, range checks for the rest.

/** ASCII by role in a name: 2 may start a name (letters, `_`, `:`), 1 may only continue one (digits, `-`, `.`). */
export const ASCII_NAME = new Uint8Array(128).map((_, c) =>
  /[A-Za-z_:]/.test(String.fromCharCode(c)) ? 2 : /[0-9.-]/.test(String.fromCharCode(c)) ? 1 : 0,
);

/** ASCII that ends a run of plain character data: `<`, `&`, `>` (for `]]>`), CR and the C0 controls XML forbids. */
export const TEXT_STOP = new Uint8Array(128).map((_, c) =>
  c === 0x3c || c === 0x26 || c === 0x3e || (c < 0x20 && c !== 0x9 && c !== 0xa) ? 1 : 0,
);

/** ASCII that ends a run of a quoted attribute value: quotes, `&`, `<`, and every C0 control (TAB, LF, CR become spaces). */
export const VALUE_STOP = new Uint8Array(128).map((_, c) =>
  c === 0x22 || c === 0x27 || c === 0x26 || c === 0x3c || c < 0x20 ? 1 : 0,
);

/** XML white space: space, TAB, LF, CR. */
export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x9 || c === 0xa || c === 0xd;
}

/** NameStartChar for a code point past ASCII. */
export function isNameStartCode(c: number): boolean {
  if (c < 0x80) return ASCII_NAME[c] === 2;
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    c === 0x200c ||
    c === 0x200d ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0xeffff)
  );
}

/** NameChar for any code point. */
export function isNameCode(c: number): boolean {
  if (c < 0x80) return ASCII_NAME[c] !== 0;
  return c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040 || isNameStartCode(c);
}

/**
 * The end of the name that runs from `i` in `s` (at most `n`): the index of the first character
 * that is not a NameChar, or `n`. A surrogate pair is one character; a lone surrogate ends the name.
 */
export function nameEnd(s: string, i: number, n: number): number {
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (ASCII_NAME[c] === 0) return i;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const lo = s.charCodeAt(i + 1);
      if (!(lo >= 0xdc00 && lo <= 0xdfff)) return i;
      if (!isNameCode(0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00))) return i;
      i++;
    } else if (!isNameCode(c)) return i;
  }
  return n;
}

/** The code point at `i` (a surrogate pair read whole; a lone surrogate as itself). */
export function codePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const lo = s.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdfff) return 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
  }
  return c;
}
