// vCenter reports counters in the unit named by PerfCounterInfo.unitInfo.key; Prometheus wants base units.
// Percentages are sent as hundredths of a percent (5000 = 50.00 %), hence the divisor 10 000.
// Scale-downs divide rather than multiply by a reciprocal: 871 / 10000 prints as 0.0871, not 0.08710000000000001.
// Byte multiples are binary, as everywhere in vSphere (a kiloByte counter is KiB).
// The unit key comes from vCenter: it is looked up in a Map, never used as an object key.
const UNITS: ReadonlyMap<string, { base: string; mul: number; div: number }> = new Map([
  ['percent', { base: 'ratio', mul: 1, div: 10_000 }],
  ['kiloBytes', { base: 'bytes', mul: 1024, div: 1 }],
  ['megaBytes', { base: 'bytes', mul: 1024 ** 2, div: 1 }],
  // teraBytes is mem.vmfs.pbc.*'s unit; gigaBytes and nanosecond appear in vCenter 9.0.1's catalogue.
  ['gigaBytes', { base: 'bytes', mul: 1024 ** 3, div: 1 }],
  ['teraBytes', { base: 'bytes', mul: 1024 ** 4, div: 1 }],
  ['kiloBytesPerSecond', { base: 'bytes_per_second', mul: 1024, div: 1 }],
  ['megaBytesPerSecond', { base: 'bytes_per_second', mul: 1024 ** 2, div: 1 }],
  ['kiloBitsPerSecond', { base: 'bytes_per_second', mul: 1000, div: 8 }],
  ['megaHertz', { base: 'hertz', mul: 1e6, div: 1 }],
  ['millisecond', { base: 'seconds', mul: 1, div: 1000 }],
  ['microsecond', { base: 'seconds', mul: 1, div: 1e6 }],
  ['nanosecond', { base: 'seconds', mul: 1, div: 1e9 }],
  ['second', { base: 'seconds', mul: 1, div: 1 }],
  ['number', { base: '', mul: 1, div: 1 }],
  ['watt', { base: 'watts', mul: 1, div: 1 }],
  ['joule', { base: 'joules', mul: 1, div: 1 }],
  ['celsius', { base: 'celsius', mul: 1, div: 1 }],
]);

/** The base unit vCenter unit `unit` converts to, as used in metric name suffixes ("" for plain numbers); undefined for unknown units. */
export function baseUnit(unit: string): string | undefined {
  return UNITS.get(unit)?.base;
}

/** Converts a raw counter value in vCenter unit `unit` to its base unit; undefined for unknown units. */
export function toBaseUnit(value: number, unit: string): number | undefined {
  const f = UNITS.get(unit);
  return f === undefined ? undefined : (value * f.mul) / f.div;
}

// What a summation's base unit becomes once divided by its interval: time spent per second of
// interval is a ratio, a count per second a rate, energy per second a power.
const PER_SECOND: ReadonlyMap<string, string> = new Map([
  ['seconds', 'ratio'],
  ['', 'per_second'],
  ['bytes', 'bytes_per_second'],
  ['joules', 'watts'],
]);

/**
 * The suffix of a summation counter in vCenter unit `unit` read per interval (see perInterval);
 * undefined when the unit is unknown or its per-second form means nothing (a summed rate or percentage).
 */
export function perIntervalUnit(unit: string): string | undefined {
  const base = baseUnit(unit);
  return base === undefined ? undefined : PER_SECOND.get(base);
}

/**
 * A `summation` counter accumulates over the sample interval (e.g. cpu.ready: milliseconds of ready
 * time in 20 s). Divided by the interval it becomes a per-second rate, or a ratio for time counters.
 */
export function perInterval(baseValue: number, intervalSeconds: number): number {
  return intervalSeconds > 0 ? baseValue / intervalSeconds : Number.NaN;
}
