import type { ElementReader, PrefixBindings } from './soap/stream-spec.js';
import type { XmlAttrs } from './answer-data.js';
import type { PerfEntitySamples } from './perf-samples.js';
import { REALTIME_INTERVAL } from './perf-response.js';
import { unslice } from './values.js';
import { plainInteger, scanSeries, type ScannedSeries } from './perf-series-scan.js';

// What an element is to the reader, from its name and its parent's kind (the path from the
// PerfEntityMetric element); anything else is skipped with everything inside it.
const OTHER = 0;
const ENTITY_METRIC = 1;
const ENTITY = 2;
const INFO = 3;
const INFO_INTERVAL = 4;
const INFO_TIMESTAMP = 5;
const INFO_CSV = 6;
const SERIES = 7;
const SERIES_ID = 8;
const COUNTER_ID = 9;
const INSTANCE = 10;
const SERIES_VALUE = 11;
// Samples the columns start with at least (doubled as needed).
const INITIAL_SAMPLES = 1024;

/**
 * Reads PerfEntityMetric and PerfEntityMetricCSV elements of a QueryPerf answer from parser events
 * (see ElementReader), without a tree: it gives the samples the tree-based reference decode
 * (test/harness/perf-tree-reader.ts) gives for the same element, in the same order
 * (test/unit/vsphere/perf-entity-reader.property.test.ts), one PerfEntitySamples per element that
 * names its entity. Only the text
 * of the few elements it reads is kept: entity, the last sampleInfo (or sampleInfoCSV), and per
 * series the first id's counterId and instance and its newest value.
 */
export class PerfEntityReader implements ElementReader {
  private readonly kinds: number[] = [];
  private top = -1;
  private csv = false;
  private entityType: string | undefined;
  private entity: string | undefined;
  private interval: string | undefined;
  private timestamp: string | undefined;
  private infoCsv: string | undefined;
  // The series of the whole answer as columns; each element's samples are handed over, when it
  // closes (its sampleInfo may come last), as its range of them. The answer is held until it is
  // whole (~100 ms): arrays per element would live that long and be promoted, ~10 MB a scrape of
  // old-generation garbage at 10,000 VMs. Off-heap columns are not.
  private counterIds: Float64Array;
  private values: Float64Array;
  // Made only once a series names an instance ('' for the samples before it).
  private instances: string[] | undefined;
  private count = 0;
  private first = 0;
  // The series being read.
  private hasId = false;
  private counterId: string | undefined;
  private instance: string | undefined;
  private value: string | undefined;

  private readonly scanned: ScannedSeries = { elements: 0, counterId: 0, instance: '', value: Number.NaN };
  /** Elements the last successful skim read (ElementReader). */
  skimmed = 0;

  constructor(
    private readonly onEntity: (e: PerfEntitySamples) => void,
    /** Told, per element, whether it was the CSV form. */
    private readonly onFormat: (csv: boolean) => void,
    /** Samples the answer is expected to hold (the metric ids asked for): the columns' first size. */
    expectedSamples = 0,
  ) {
    const size = Math.max(INITIAL_SAMPLES, expectedSamples);
    this.counterIds = new Float64Array(size);
    this.values = new Float64Array(size);
  }

  open(name: string, attrs: XmlAttrs, depth: number): void {
    this.top = depth;
    if (depth === 0) return this.start(attrs);
    const parent = this.kinds[depth - 1];
    let kind = OTHER;
    if (parent === ENTITY_METRIC) {
      if (name === 'value') {
        kind = SERIES;
        this.hasId = false;
        this.counterId = this.instance = this.value = undefined;
      } else if (name === 'entity' && this.entity === undefined) {
        kind = ENTITY;
        this.entity = '';
        this.entityType = attrs.type;
      } else if (name === 'sampleInfo' && !this.csv) {
        // The last sampleInfo is the newest: each one starts afresh.
        kind = INFO;
        this.interval = this.timestamp = undefined;
      } else if (name === 'sampleInfoCSV' && this.csv && this.infoCsv === undefined) {
        kind = INFO_CSV;
        this.infoCsv = '';
      }
    } else if (parent === SERIES) {
      if (name === 'id' && !this.hasId) {
        kind = SERIES_ID;
        this.hasId = true;
      } else if (name === 'value' && (!this.csv || this.value === undefined)) {
        // Normal form: the last value is the newest; CSV: one list, newest last.
        kind = SERIES_VALUE;
        this.value = '';
      }
    } else if (parent === SERIES_ID) {
      if (name === 'counterId' && this.counterId === undefined) {
        kind = COUNTER_ID;
        this.counterId = '';
      } else if (name === 'instance' && this.instance === undefined) {
        kind = INSTANCE;
        this.instance = '';
      }
    } else if (parent === INFO) {
      if (name === 'interval' && this.interval === undefined) {
        kind = INFO_INTERVAL;
        this.interval = '';
      } else if (name === 'timestamp' && this.timestamp === undefined) {
        kind = INFO_TIMESTAMP;
        this.timestamp = '';
      }
    }
    this.kinds[depth] = kind;
  }

  text(text: string): void {
    switch (this.kinds[this.top]) {
      case SERIES_VALUE:
        this.value += text;
        break;
      case COUNTER_ID:
        this.counterId += text;
        break;
      case INSTANCE:
        this.instance += text;
        break;
      case ENTITY:
        this.entity += text;
        break;
      case INFO_INTERVAL:
        this.interval += text;
        break;
      case INFO_TIMESTAMP:
        this.timestamp += text;
        break;
      case INFO_CSV:
        this.infoCsv += text;
        break;
    }
  }

  close(depth: number): void {
    this.top = depth - 1;
    if (depth === 0) return this.end();
    if (this.kinds[depth] !== SERIES) return;
    const counterId = decimal(this.counterId);
    if (counterId === undefined) return;
    const value = this.csv ? latestCsv(this.value) : decimal(this.value);
    this.add(counterId, this.instance ?? '', value);
  }

  /**
   * A series of the plain form read straight from the text (ElementReader.skim; perf-series-scan.ts),
   * with the rules close() applies: the same samples as its events would give.
   */
  skim(s: string, i: number, n: number, maxElements: number, prefixes: PrefixBindings): number {
    if (this.kinds[this.top] !== ENTITY_METRIC) return -1;
    const sc = this.scanned;
    const end = scanSeries(s, i, n, this.csv, prefixes, sc);
    if (end < 0 || sc.elements > maxElements) return -1;
    this.skimmed = sc.elements;
    this.add(sc.counterId, sc.instance, sc.value);
    // The scratch must not keep a slice of the chunk (and so the chunk) alive past this series.
    sc.instance = '';
    return end;
  }

  /** One series' sample, read either way; a series without a measurement adds nothing. */
  private add(counterId: number, instance: string, value: number | undefined): void {
    // -1 (and, in csv, an empty field) is vCenter's "no data for this interval", not a measurement.
    if (value === undefined || !Number.isFinite(value) || value < 0) return;
    const at = this.count++;
    if (at === this.values.length) this.grow();
    this.counterIds[at] = counterId;
    this.values[at] = value;
    if (instance !== '') (this.instances ??= new Array<string>(at).fill('')).push(unslice(instance));
    else this.instances?.push('');
  }

  // Elements handed over keep the old buffers; later samples go to the new ones.
  private grow(): void {
    const size = this.values.length * 2;
    const ids = new Float64Array(size);
    const values = new Float64Array(size);
    ids.set(this.counterIds);
    values.set(this.values);
    this.counterIds = ids;
    this.values = values;
  }

  private start(attrs: XmlAttrs): void {
    this.kinds[0] = ENTITY_METRIC;
    this.csv = attrs.type === 'PerfEntityMetricCSV';
    this.entity = this.entityType = this.interval = this.timestamp = this.infoCsv = undefined;
    this.first = this.count;
  }

  private end(): void {
    this.onFormat(this.csv);
    const { entity: value, entityType: type, first: start, count: end, counterIds, values, instances } = this;
    // Nothing to hand over: an element without samples does not count as its entity's (PerfAnswerFilter).
    if (value === undefined || !type || end === start) return;
    const entity = { type: unslice(type), value: unslice(value) };
    let intervalSeconds: number;
    let timestamp: number | undefined;
    if (this.csv) {
      const info = (this.infoCsv ?? '').split(',');
      const interval = Number(info[info.length - 2]);
      const ms = this.parseTime(info[info.length - 1] ?? '');
      intervalSeconds = Number.isFinite(interval) && interval > 0 ? interval : REALTIME_INTERVAL;
      timestamp = Number.isFinite(ms) ? ms / 1000 : undefined;
    } else {
      intervalSeconds = decimal(this.interval) ?? REALTIME_INTERVAL;
      const ms = this.timestamp === undefined ? NaN : this.parseTime(this.timestamp.trim());
      timestamp = Number.isFinite(ms) ? ms / 1000 : undefined;
    }
    this.onEntity({ entity, intervalSeconds, timestamp, start, end, counterIds, instances, values });
  }

  // Date.parse of a sample timestamp, the last one remembered: the elements of one answer carry the
  // same time (vCenter aligns realtime samples to 20 s), and parsing it ~10,000 times a scrape cost ~10 ms.
  private parseTime(text: string): number {
    if (text !== this.lastTime) {
      this.lastTime = unslice(text);
      this.lastMs = Date.parse(text);
    }
    return this.lastMs;
  }

  private lastTime: string | undefined;
  private lastMs = Number.NaN;
}

/**
 * xsd:int/long/double text → number, as values.ts `num` reads it (trimmed, empty or not finite →
 * undefined), with the plain digit strings nearly every value is read without Number()'s parser.
 */
export function decimal(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const plain = plainInteger(text, 0, text.length);
  if (plain !== undefined && !Number.isNaN(plain)) return plain;
  const t = text.trim();
  if (t === '') return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

/** The newest value of a CSV series ("v1,v2,…"); an empty last field is no value. */
function latestCsv(text: string | undefined): number | undefined {
  const list = text ?? '';
  const raw = list.slice(list.lastIndexOf(',') + 1).trim();
  if (raw === '') return undefined;
  return decimal(raw) ?? Number(raw);
}
