import { escapeLabelValue } from './text-encoder.js';

/** Prometheus metric type as written on the `# TYPE` line. */
export type MetricType = 'gauge' | 'counter' | 'untyped';

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_TYPES: ReadonlySet<string> = new Set<MetricType>(['gauge', 'counter', 'untyped']);

/** Label values escaped and rendered once, reusable by every family with the same label names. */
export class RenderedLabels {
  constructor(
    /** The label names, comma-joined: a family only accepts blocks rendered for its own names. */
    readonly key: string,
    /** The escaped `{a="x",b="y"}` text. */
    readonly block: string,
  ) {}

  #open: string | undefined;

  /** The block without its closing brace, `{a="x",b="y"`: the shared head of blocks with one more label. */
  get open(): string {
    // A slice of `block`: no copy, and `block` lives as long as this object anyway.
    return (this.#open ??= this.block.slice(0, -1));
  }
}

/**
 * Renders `values` for `labelNames` once (17 perf families × 10,000 VMs share one block per VM).
 * `labelNames` must not change afterwards: its key is kept by the array's identity.
 */
export function renderLabels(labelNames: readonly string[], values: readonly string[]): RenderedLabels {
  if (values.length !== labelNames.length) {
    throw new Error(
      `expected ${labelNames.length} label values (${labelNames.join(', ')}), got ${values.length}`,
    );
  }
  const parts: string[] = [];
  for (let i = 0; i < labelNames.length; i++)
    parts.push(i === 0 ? '{' : '",', labelNames[i]!, '="', escapeLabelValue(values[i]!));
  if (parts.length > 0) parts.push('"}');
  // Joined into one flat string: the block lives as long as the collection.
  const block = parts.join('');
  return new RenderedLabels(namesKey(labelNames), block);
}

// One key string per label-name list (collectors pass the same array for every object): kept
// blocks then hold no copy of it each.
const keys = new WeakMap<readonly string[], string>();
function namesKey(labelNames: readonly string[]): string {
  let key = keys.get(labelNames);
  if (key === undefined) keys.set(labelNames, (key = labelNames.join(',')));
  return key;
}

/** A named set of samples sharing help text, type and label names; labels are rendered once at add() time. */
export class MetricFamily {
  /** Metric name, validated against the Prometheus data model. */
  readonly name: string;
  /** Raw (unescaped) help text; escaped by the encoder. */
  readonly help: string;
  /** Metric type emitted on the `# TYPE` line. */
  readonly type: MetricType;
  /** Label names, in the order label values are passed to add(). */
  readonly labelNames: readonly string[];

  // The escaped `{a="x",b="y"}` block is the expensive part of encoding and does not change
  // once added, so rendering it here keeps the encoder a plain string-concatenation loop and
  // stores each sample as one block (or a head and a tail, see addRenderedWith) plus one double
  // instead of an array of values.
  readonly #labelBlocks: string[] = [];
  readonly #values: number[] = [];
  // Static pieces between escaped values: `{a="`, `",b="`, ...; closing `"}` is appended last.
  readonly #labelPrefixes: readonly string[];
  readonly #namesKey: string;
  // The names of blocks addRenderedWith() takes: all but the last.
  readonly #headKey: string;

  constructor(name: string, help: string, type: MetricType, labelNames: readonly string[]) {
    if (typeof name !== 'string' || !METRIC_NAME_RE.test(name)) {
      throw new Error(`Invalid metric name ${JSON.stringify(name)}: must match ${METRIC_NAME_RE.source}`);
    }
    if (typeof help !== 'string') {
      throw new Error(`Invalid help for metric ${name}: must be a string`);
    }
    if (!METRIC_TYPES.has(type)) {
      throw new Error(`Invalid type ${JSON.stringify(type)} for metric ${name}`);
    }
    const seen = new Set<string>();
    for (const label of labelNames) {
      if (typeof label !== 'string' || !LABEL_NAME_RE.test(label)) {
        throw new Error(
          `Invalid label name ${JSON.stringify(label)} for metric ${name}: must match ${LABEL_NAME_RE.source}`,
        );
      }
      if (label.startsWith('__')) {
        throw new Error(
          `Invalid label name ${JSON.stringify(label)} for metric ${name}: "__" prefix is reserved`,
        );
      }
      if (seen.has(label)) {
        throw new Error(`Duplicate label name ${JSON.stringify(label)} for metric ${name}`);
      }
      seen.add(label);
    }
    this.name = name;
    this.help = help;
    this.type = type;
    // Copy and freeze so later mutation of the caller's array cannot desynchronise the
    // pre-rendered prefixes from the names reported here.
    this.labelNames = Object.freeze([...labelNames]);
    this.#labelPrefixes = this.labelNames.map((label, i) => `${i === 0 ? '{' : '",'}${label}="`);
    this.#namesKey = this.labelNames.join(',');
    this.#headKey = this.labelNames.slice(0, -1).join(',');
  }

  /** Appends one sample; throws if the label value count differs from labelNames. */
  add(labelValues: readonly string[], value: number): void {
    const prefixes = this.#labelPrefixes;
    const n = prefixes.length;
    if (labelValues.length !== n) {
      throw new Error(
        `Metric ${this.name} expects ${n} label values (${this.labelNames.join(', ')}), got ${labelValues.length}`,
      );
    }
    // Runtime checks are cheap relative to escaping and protect the whole scrape from a single
    // `undefined` rendering as text that the Prometheus parser would reject.
    if (typeof value !== 'number') {
      throw new Error(`Metric ${this.name}: value must be a number, got ${typeof value}`);
    }
    let block = '';
    if (n > 0) {
      // Joined, not +=: one flat string instead of a rope of two nodes per label, which a whole
      // collection's 250,000 blocks would keep alive (~30 MiB of rope nodes).
      const parts: string[] = new Array<string>(2 * n + 1);
      for (let i = 0; i < n; i++) {
        const v = labelValues[i];
        if (typeof v !== 'string') {
          throw new Error(
            `Metric ${this.name}: label ${this.labelNames[i]} value must be a string, got ${typeof v}`,
          );
        }
        parts[2 * i] = prefixes[i] as string;
        parts[2 * i + 1] = escapeLabelValue(v);
      }
      parts[2 * n] = '"}';
      block = parts.join('');
    }
    this.#labelBlocks.push(block);
    this.#labelTails?.push('');
    this.#values.push(value);
  }

  /** Appends one sample whose labels were rendered by renderLabels() for the same label names. */
  addRendered(labels: RenderedLabels, value: number): void {
    if (labels.key !== this.#namesKey) {
      throw new Error(
        `Metric ${this.name}: labels rendered for (${labels.key}), expects (${this.#namesKey})`,
      );
    }
    if (typeof value !== 'number')
      throw new Error(`Metric ${this.name}: value must be a number, got ${typeof value}`);
    this.#labelBlocks.push(labels.block);
    this.#labelTails?.push('');
    this.#values.push(value);
  }

  /**
   * Appends one sample labelled like `labels` plus a last label (e.g. a state) valued `last`. Its
   * block is kept as the head `labels` shares and a per-value tail cached here, written one after
   * the other by the encoder: the 10 state series of each of 10,000 VMs then hold no string of
   * their own.
   */
  addRenderedWith(labels: RenderedLabels, last: string, value: number): void {
    const n = this.labelNames.length;
    if (n < 2 || labels.key !== this.#headKey) {
      throw new Error(
        `Metric ${this.name}: labels rendered for (${labels.key}) plus one, expects (${this.#namesKey})`,
      );
    }
    if (typeof last !== 'string')
      throw new Error(`Metric ${this.name}: label ${this.labelNames[n - 1]} value must be a string`);
    if (typeof value !== 'number')
      throw new Error(`Metric ${this.name}: value must be a number, got ${typeof value}`);
    let tail = this.#tailCache.get(last);
    if (tail === undefined) {
      tail = `,${this.labelNames[n - 1]}="${escapeLabelValue(last)}"}`;
      // Bounded: states are a handful; anything else (one value per sample) is not cached.
      if (this.#tailCache.size < 64) this.#tailCache.set(last, tail);
    }
    // Head and tail kept apart, not joined: a joined string per series would live as long as the
    // collection, and 100,000 of them at 10,000 VMs are garbage the old generation collects.
    const tails = (this.#labelTails ??= new Array<string>(this.#labelBlocks.length).fill(''));
    this.#labelBlocks.push(labels.open);
    tails.push(tail);
    this.#values.push(value);
  }

  // Rendered tails by last-label value (addRenderedWith).
  readonly #tailCache = new Map<string, string>();
  // Parallel to #labelBlocks once addRenderedWith was used ('' for the other samples).
  #labelTails: string[] | undefined;

  /** Number of samples added so far. */
  get size(): number {
    return this.#values.length;
  }

  /**
   * Escaped label blocks (`{a="x"}` or '' when unlabelled), parallel to values. With head-and-tail
   * samples each read joins them all anew (for tests and inspection; the encoder reads labelParts).
   */
  get labelBlocks(): readonly string[] {
    const tails = this.#labelTails;
    return tails ? this.#labelBlocks.map((b, i) => b + tails[i]!) : this.#labelBlocks;
  }

  /** labelBlocks as the encoder reads them: each is `heads[i] + (tails?.[i] ?? '')`. */
  get labelParts(): { heads: readonly string[]; tails: readonly string[] | undefined } {
    return { heads: this.#labelBlocks, tails: this.#labelTails };
  }

  /** Sample values, parallel to labelBlocks; read by the encoder. */
  get values(): readonly number[] {
    return this.#values;
  }
}
