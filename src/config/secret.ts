import type { InspectOptions } from 'node:util';

const MASK = '<secret>';

/** A string (password, token) that renders as `<secret>` everywhere except through `reveal()`. */
export class Secret {
  // A #private field is invisible to JSON.stringify, util.inspect, Object.keys and structuredClone,
  // so the value cannot leak through generic object dumping (logs, error reports).
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** Returns the real value; call it only where the value is sent to its destination. */
  reveal(): string {
    return this.#value;
  }

  /** Masked: covers String(), template literals and string concatenation. */
  toString(): string {
    return MASK;
  }

  /** Masked: covers JSON.stringify and pino serialisation. */
  toJSON(): string {
    return MASK;
  }

  /** Masked: covers util.inspect, console.log and util.format('%o'). */
  [Symbol.for('nodejs.util.inspect.custom')](_depth?: number, _options?: InspectOptions): string {
    return MASK;
  }

  /** Masked: covers `${secret}` and `+` via the primitive-conversion hook as well. */
  [Symbol.toPrimitive](): string {
    return MASK;
  }
}
