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

// Flushing string accumulators at ~64Ki UTF-16 units bounds the size of each intermediate
// rope V8 must flatten while keeping the number of Buffer allocations per scrape small.
const CHUNK_CHARS = 64 * 1024;
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

/** The exposition of `families` in ~64 KiB chunks, each made only when the consumer asks for it. */
export function* familyChunks(families: Iterable<MetricFamily>): Generator<Buffer> {
  for (const text of familyTexts(families)) yield textBytes(text);
}

/** One chunk of familyTexts as UTF-8 bytes. */
export function textBytes(text: string): Buffer {
  // Lone UTF-16 surrogates cannot occur in valid UTF-8; Buffer.from replaces them with
  // U+FFFD, so the body is always valid UTF-8 as the Content-Type promises.
  return Buffer.from(text, 'utf8');
}

/**
 * The exposition of `families` as strings of ~64 Ki UTF-16 units, for a consumer that writes them
 * into buffers of its own (UTF-8, as Buffer.from would).
 */
export function* familyTexts(families: Iterable<MetricFamily>): Generator<string> {
  const texts = new FamilyTextChunks();
  for (const family of families) yield* texts.family(family);
  yield* texts.rest();
}

/**
 * familyTexts of families handed over one by one as they are made (a collection in progress). It
 * gives the event loop a turn every few milliseconds: the collection's QueryPerf answers arrive
 * meanwhile, and must not wait for the encoding of what came before them.
 */
export async function* familyTextsOf(families: AsyncIterable<MetricFamily>): AsyncGenerator<string> {
  const texts = new FamilyTextChunks();
  let turn = performance.now();
  for await (const family of families) {
    for (const text of texts.family(family)) {
      yield text;
      if (performance.now() - turn > SLICE_MS) {
        await nextTurn();
        turn = performance.now();
      }
    }
  }
  yield* texts.rest();
}

/** The text of families in order, cut into strings of ~64 Ki units, with family names checked unique. */
class FamilyTextChunks {
  private readonly names = new Set<string>();
  private acc = '';

  /** The chunks completed by `family`'s text; the rest waits for the next family. */
  *family(family: MetricFamily): Generator<string> {
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
    const { heads, tails } = family.labelParts;
    let acc = this.acc + `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`;
    for (let i = 0; i < n; i++) {
      const labels = tails === undefined ? heads[i]! : heads[i]! + tails[i]!;
      acc += name + labels + ' ' + formatValue(values[i] as number) + '\n';
      if (acc.length >= CHUNK_CHARS) {
        this.acc = '';
        yield acc;
        acc = '';
      }
    }
    this.acc = acc;
  }

  /** The last, partial chunk. */
  *rest(): Generator<string> {
    if (this.acc.length > 0) yield this.acc;
    this.acc = '';
  }
}
