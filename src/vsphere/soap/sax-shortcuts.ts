/**
 * A shortcut past saxes' name reader; it reads what saxes reads (test/unit/vsphere/xml-reader-shortcuts.test.ts).
 */
// XML NameChar among ASCII: letters, digits, '_', ':', '-', '.'.
const ASCII_NAME = new Uint8Array(128).map((_, c) =>
  /[A-Za-z0-9_:.-]/.test(String.fromCharCode(c)) ? 1 : 0,
);

/**
 * Makes a saxes parser read names faster. saxes reads a name one character at a time through its
 * general decoder (~1/4 of its time on a QueryPerf answer). ASCII name characters need none of
 * that: they are skipped here with charCodeAt, and the character that ends the name, if plain ASCII, is read as saxes would;
 * anything else (a non-ASCII or control character, CR, the chunk's end) is left to saxes from
 * the name's first character, so it reads exactly what it read before.
 */
export function fastNames(parser: object): void {
  const sax = parser as {
    captureNameChars?: () => number;
    chunk: string;
    i: number;
    prevI: number;
    name: string;
  };
  const slow = sax.captureNameChars;
  if (typeof slow !== 'function' || typeof sax.chunk !== 'string' || typeof sax.i !== 'number') return;
  sax.captureNameChars = (): number => {
    const { chunk, i: start } = sax;
    let i = start;
    while (i < chunk.length && ASCII_NAME[chunk.charCodeAt(i)] === 1) i++;
    const c = i < chunk.length ? chunk.charCodeAt(i) : -1;
    // Printable ASCII, TAB and LF end a name as saxes' decoder returns them.
    if ((c >= 0x20 && c < 0x7f) || c === 0x9 || c === 0xa) {
      sax.name += chunk.slice(start, i);
      sax.prevI = i;
      sax.i = i + 1;
      return c;
    }
    return slow.call(sax);
  };
}

/**
 * The same for quoted attribute values (`xsi:type="PerfMetricIntSeries"` on every series): a run of
 * printable ASCII other than the quote, `&` and `<` is taken with charCodeAt into saxes' pending
 * text, and saxes then reads on from the first character it must judge itself (the closing quote,
 * an entity, a newline to normalise, the chunk's end), exactly as if it had read the run.
 */
export function fastAttributeValues(parser: object): void {
  const sax = parser as {
    sAttribValueQuoted?: () => void;
    stateTable?: unknown[];
    chunk: string;
    i: number;
    q: number | null;
    text: string;
  };
  const slow = (Object.getPrototypeOf(sax) as typeof sax).sAttribValueQuoted;
  const table = sax.stateTable;
  if (typeof slow !== 'function' || !Array.isArray(table) || typeof sax.chunk !== 'string') return;
  // saxes dispatches through a table of its state methods built in its constructor.
  const at = table.indexOf(slow);
  if (at < 0 || table.indexOf(slow, at + 1) >= 0) return;
  table[at] = function (this: typeof sax): void {
    const { chunk, i: start, q } = this;
    let i = start;
    for (; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c < 0x20 || c >= 0x7f || c === q || c === 0x26 /* & */ || c === 0x3c /* < */) break;
    }
    if (i > start) {
      this.text += chunk.slice(start, i);
      this.i = i;
    }
    slow.call(this);
  };
}
