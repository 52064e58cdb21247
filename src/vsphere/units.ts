// vCenter reports counters in the unit named by PerfCounterInfo.unitInfo.key; Prometheus wants base units.
// Percentages are sent as hundredths of a percent (5000 = 50.00 %), hence the divisor 10 000.
// Scale-downs divide rather than multiply by a reciprocal: 871 / 10000 prints as 0.0871, not 0.08710000000000001.
const FACTORS: Record<string, { mul: number; div: number }> = {
  percent: { mul: 1, div: 10_000 },
  kiloBytes: { mul: 1024, div: 1 },
  megaBytes: { mul: 1024 * 1024, div: 1 },
  kiloBytesPerSecond: { mul: 1024, div: 1 },
  megaBytesPerSecond: { mul: 1024 * 1024, div: 1 },
  kiloBitsPerSecond: { mul: 1000, div: 8 },
  megaHertz: { mul: 1e6, div: 1 },
  millisecond: { mul: 1, div: 1000 },
  microsecond: { mul: 1, div: 1e6 },
  second: { mul: 1, div: 1 },
  number: { mul: 1, div: 1 },
  watt: { mul: 1, div: 1 },
  joule: { mul: 1, div: 1 },
  celsius: { mul: 1, div: 1 },
};

/** The base unit each vCenter unit converts to (as used in metric name suffixes). */
export const BASE_UNIT: Record<string, string> = {
  percent: 'ratio',
  kiloBytes: 'bytes',
  megaBytes: 'bytes',
  kiloBytesPerSecond: 'bytes_per_second',
  megaBytesPerSecond: 'bytes_per_second',
  kiloBitsPerSecond: 'bytes_per_second',
  megaHertz: 'hertz',
  millisecond: 'seconds',
  microsecond: 'seconds',
  second: 'seconds',
  number: '',
  watt: 'watts',
  joule: 'joules',
  celsius: 'celsius',
};

/** Converts a raw counter value in vCenter unit `unit` to its base unit; undefined for unknown units. */
export function toBaseUnit(value: number, unit: string): number | undefined {
  const f = FACTORS[unit];
  return f === undefined ? undefined : (value * f.mul) / f.div;
}

/**
 * A `summation` counter accumulates over the sample interval (e.g. cpu.ready: milliseconds of ready
 * time in 20 s). Divided by the interval it becomes a per-second rate, or a ratio for time counters.
 */
export function perInterval(baseValue: number, intervalSeconds: number): number {
  return intervalSeconds > 0 ? baseValue / intervalSeconds : Number.NaN;
}
