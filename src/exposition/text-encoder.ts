import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MetricFamily } from './metric-family.js';

/** HTTP Content-Type for the Prometheus text exposition format 0.0.4. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const LABEL_SPECIAL_RE = /[\\"\n]/;
const LABEL_SPECIAL_RE_G = /[\\"\n]/g;
const HELP_SPECIAL_RE = /[\\\n]/;
const HELP_SPECIAL_RE_G = /[\\\n]/g;

function escapeChar(c: string): string {
  return c === '\n' ? '\\n' : '\\' + c;
}

/** Escapes a label value for the text format: backslash, double quote and line feed only. */
export function escapeLabelValue(s: string): string {
  // Nearly all real label values need no escaping; a non-global test avoids allocating.
  return LABEL_SPECIAL_RE.test(s) ? s.replace(LABEL_SPECIAL_RE_G, escapeChar) : s;
}

/** Escapes HELP text for the text format: backslash and line feed only (quotes are literal there). */
export function escapeHelp(s: string): string {
  return HELP_SPECIAL_RE.test(s) ? s.replace(HELP_SPECIAL_RE_G, escapeChar) : s;
}

/** Formats a sample value so Go's strconv.ParseFloat reads back exactly the same double. */
export function formatValue(v: number): string {
  // String(v) is the shortest round-trip representation and is valid ParseFloat syntax
  // (`1e-7`, `1.5e+21`); it prints every integer below 1e21 without an exponent. Above
  // that, exponent form is both shorter and exact, so no BigInt expansion is attempted.
  // Only the spellings Go does not share need special cases. -0 keeps its sign so that
  // formatting is a lossless bijection on doubles (Go parses "-0" as negative zero).
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0 && 1 / v < 0) return '-0';
  return String(v);
}

// Chunks are ~64 KiB buffers, written in place: a 10,000-VM exposition (~24 MiB, ~240,000 lines)
// made as string ropes allocated ~70 MB a scrape (ropes, then their flat copies for UTF-8), which
// the collection's garbage collector paid for beside its QueryPerf answers.
const CHUNK_BYTES = 64 * 1024;
// Bytes a sample's value takes at most (`-0.0000012345678901234567` is 25), and its space and newline.
const VALUE_ROOM = 32;
// Up to 15 digits a double holds the integer exactly; its digits are written without a string.
const MAX_PLAIN_INTEGER = 1e15;
// Encoding beside a collection in progress yields this often.
const SLICE_MS = 5;

// Families without samples are skipped entirely: a HELP/TYPE block with no samples is legal
// but carries no information, and some consumers (promtool lint) handle it less gracefully.
/** Encodes families as a text format 0.0.4 body, skipping families that have no samples. */
export function encodeFamilies(families: Iterable<MetricFamily>): Buffer {
  const chunks = encodeFamilyChunks(families);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * The same body as ~64 KiB chunks, never joined: a 23 MiB exposition then exists once, not twice
 * (chunks plus their concatenation), and is written to the socket chunk by chunk.
 */
export function encodeFamilyChunks(families: Iterable<MetricFamily>): Buffer[] {
  return [...familyChunks(families)];
}

/**
 * The exposition of `families` in ~64 KiB chunks, each made only when the consumer asks for it.
 * With `reuse`, every chunk is written into the same buffer: it is valid only until the next is
 * asked for (for a consumer that copies it, as gzip does), and the encoding allocates nothing.
 */
export function* familyChunks(families: Iterable<MetricFamily>, reuse = false): Generator<Buffer> {
  const chunks = new FamilyChunks(reuse);
  for (const family of families) yield* chunks.family(family);
  yield* chunks.rest();
}

/**
 * familyChunks of families handed over one by one as they are made (a collection in progress). It
 * gives the event loop a turn every few milliseconds: the collection's QueryPerf answers arrive
 * meanwhile, and must not wait for the encoding of what came before them.
 */
export async function* familyChunksOf(
  families: AsyncIterable<MetricFamily>,
  reuse = false,
): AsyncGenerator<Buffer> {
  const chunks = new FamilyChunks(reuse);
  let turn = performance.now();
  for await (const family of families) {
    for (const chunk of chunks.family(family)) {
      yield chunk;
      if (performance.now() - turn > SLICE_MS) {
        await nextTurn();
        turn = performance.now();
      }
    }
  }
  yield* chunks.rest();
}

/** The text of families in order as UTF-8, cut into chunks of ~64 KiB, with family names checked unique. */
class FamilyChunks {
  private readonly names = new Set<string>();
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private pos = 0;

  constructor(private readonly reuse: boolean) {}

  /** The chunks completed by `family`'s text; the rest waits for the next family. */
  *family(family: MetricFamily): Generator<Buffer> {
    const name = family.name;
    // Checked before the empty-family skip: a duplicate name is a programming error even if
    // one of the two happens to be empty this scrape, and would surface only intermittently.
    if (this.names.has(name)) {
      throw new Error(`Duplicate metric family name ${name}`);
    }
    this.names.add(name);
    const values = family.values;
    const n = values.length;
    if (n === 0) return;
    yield* this.line(`# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`);
    const { heads, tails } = family.labelParts;
    // Metric names are ASCII (MetricFamily checks them): one byte per character.
    const nameBytes = Buffer.from(name, 'latin1');
    const nameLength = nameBytes.length;
    for (let i = 0; i < n; i++) {
      const head = heads[i]!;
      const tail = tails === undefined ? '' : tails[i]!;
      // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4).
      const most = nameLength + 3 * (head.length + tail.length) + VALUE_ROOM;
      if (this.pos + most > this.buf.length) {
        if (most > this.buf.length) {
          // A line longer than a chunk (a label value of tens of KiB) is a chunk of its own.
          yield* this.line(name + head + tail + ' ' + formatValue(values[i] as number) + '\n');
          continue;
        }
        yield this.take();
      }
      const buf = this.buf;
      let pos = this.pos;
      buf.set(nameBytes, pos);
      pos += nameLength;
      pos += buf.write(head, pos);
      if (tail !== '') pos += buf.write(tail, pos);
      buf[pos++] = 0x20;
      pos = writeValue(buf, pos, values[i] as number);
      buf[pos++] = 0x0a;
      this.pos = pos;
    }
  }

  /** The last, partial chunk. */
  *rest(): Generator<Buffer> {
    if (this.pos > 0) yield this.take();
  }

  /** Text written whole: into the chunk when it fits, else after it, as a chunk of its own. */
  private *line(text: string): Generator<Buffer> {
    const most = 3 * text.length;
    if (this.pos + most > this.buf.length && this.pos > 0) yield this.take();
    if (most > this.buf.length) {
      // Lone surrogates cannot occur in valid UTF-8; Buffer.from and write() both replace them
      // with U+FFFD, so the body is always valid UTF-8 as the Content-Type promises.
      yield Buffer.from(text, 'utf8');
      return;
    }
    this.pos += this.buf.write(text, this.pos);
  }

  /** The chunk written so far; the next is written into the same buffer (reuse) or a new one. */
  private take(): Buffer {
    const filled = this.buf.subarray(0, this.pos);
    this.pos = 0;
    if (this.reuse) return filled;
    // A kept chunk mostly empty (a small body, a family's last lines) is copied to its size.
    if (filled.length < this.buf.length / 2) return Buffer.from(filled);
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES);
    return filled;
  }
}

// Powers of ten for the decimals a value is tried with (ratios of hundredths, seconds of milliseconds).
const POW10 = [1, 10, 100, 1000, 1e4, 1e5, 1e6];
const MAX_DECIMALS = POW10.length - 1;

/**
 * Writes formatValue(v) at `pos` (ASCII); returns the index past it. Nearly every sample is a
 * non-negative integer (counts, bytes) or one with a few decimals (ratios, timestamps): their digits
 * are written straight, without the string String(v) would make (~350 ns for a fraction).
 */
function writeValue(buf: Buffer, pos: number, v: number): number {
  if (v >= 0 && v < MAX_PLAIN_INTEGER) {
    // -0 keeps its sign (formatValue).
    if (Math.floor(v) === v)
      return v !== 0 || 1 / v > 0 ? writeInteger(buf, pos, v) : writeText(buf, pos, '-0');
    for (let d = 1; d <= MAX_DECIMALS; d++) {
      const m = v * POW10[d]!;
      // v is exactly the double nearest m / 10^d, and m has at most 15 digits: the shortest text
      // that reads back as v (String(v)) is then m's digits with the point d places from the right.
      if (m < MAX_PLAIN_INTEGER && Math.floor(m) === m && m / POW10[d]! === v)
        return writeDecimal(buf, pos, m, d);
    }
  }
  return writeText(buf, pos, formatValue(v));
}

/** ASCII text at `pos`. */
function writeText(buf: Buffer, pos: number, text: string): number {
  return pos + buf.write(text, pos, 'latin1');
}

/** `m / 10^d` (0 < d, not an integer) in fixed notation without trailing zeros, as String() spells it. */
function writeDecimal(buf: Buffer, pos: number, m: number, d: number): number {
  while (d > 1 && m % 10 === 0) {
    m /= 10;
    d--;
  }
  const whole = Math.floor(m / POW10[d]!);
  let fraction = m - whole * POW10[d]!;
  pos = writeInteger(buf, pos, whole);
  buf[pos++] = 0x2e;
  for (let at = pos + d; at > pos;) {
    const q = Math.floor(fraction / 10);
    buf[--at] = 0x30 + fraction - q * 10;
    fraction = q;
  }
  return pos + d;
}

/** An integer in [0, 1e15) at `pos`, in 32-bit steps (a double's % is a slow call in V8). */
function writeInteger(buf: Buffer, pos: number, v: number): number {
  if (v < 2 ** 31) return writeInt32(buf, pos, v | 0, 0);
  const high = Math.floor(v / 1e7);
  return writeInt32(buf, writeInt32(buf, pos, high, 0), v - high * 1e7, 7);
}

/** A 32-bit integer n ≥ 0 at `pos`, zero-padded to `width` digits. */
function writeInt32(buf: Buffer, pos: number, n: number, width: number): number {
  let length = 1;
  for (let t = n; t >= 10; t = (t / 10) | 0) length++;
  if (length < width) length = width;
  for (let at = pos + length; at > pos;) {
    const q = (n / 10) | 0;
    buf[--at] = 0x30 + n - q * 10;
    n = q;
  }
  return pos + length;
}
