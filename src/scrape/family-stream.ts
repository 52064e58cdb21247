import type { MetricFamily } from '../exposition/index.js';

/**
 * The families of one collection in registry order — each collector's in the order it emitted
 * them, then the trailing ones — handed over as soon as every family before them is known. The
 * encoder then writes a collector's families while later collectors still wait for vCenter: the
 * VMs' inventory families (~47 % of the text at 10,000 VMs) are encoded and deflated while their
 * QueryPerf answers arrive, not after the last one. The output is the same as encoding the
 * finished list.
 */
export class FamilyStream implements AsyncIterable<MetricFamily> {
  private readonly parts: { families: (MetricFamily | undefined)[]; ended: boolean }[];
  private trailing: MetricFamily[] | undefined;
  private wake: (() => void) | undefined;
  private cut = false;
  /** Samples of the families handed over. */
  samples = 0;

  /**
   * `parts`: one per collector. `keep` is asked before each collector family is handed over: once
   * false, that family and every collector family after it are dropped (a collection cut with no
   * scrape left to read it is not encoded), and `dropped` says so.
   */
  constructor(
    parts: number,
    private readonly keep: () => boolean = () => true,
  ) {
    this.parts = Array.from({ length: parts }, () => ({ families: [], ended: false }));
  }

  /** True once a collector family was dropped: what was handed over is not the whole collection. */
  get dropped(): boolean {
    return this.cut;
  }

  /** Drops every collector family not handed over yet. */
  drop(): void {
    this.cut = true;
    this.poke();
  }

  /** Part `part` emitted `family` (final: it is not changed after). */
  emit(part: number, family: MetricFamily): void {
    this.parts[part]!.families.push(family);
    if (!this.parts[part]!.ended) this.poke();
  }

  /** Part `part` emits nothing more. */
  end(part: number): void {
    this.parts[part]!.ended = true;
    this.poke();
  }

  /** The families after every part; parts not ended yet (collectors that never ran) end here. */
  finish(trailing: readonly MetricFamily[]): void {
    for (const p of this.parts) p.ended = true;
    this.trailing = [...trailing];
    this.poke();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<MetricFamily> {
    for (const part of this.parts) {
      for (let i = 0; ;) {
        if (i < part.families.length) {
          const family = part.families[i]!;
          // Handed over once: the stream does not keep what the encoder has taken.
          part.families[i++] = undefined;
          if (this.cut || !this.keep()) {
            this.cut = true;
            continue;
          }
          this.samples += family.size;
          yield family;
        } else if (part.ended) break;
        else await this.next();
      }
      part.families.length = 0;
    }
    while (!this.trailing) await this.next();
    for (const family of this.trailing) {
      this.samples += family.size;
      yield family;
    }
  }

  private next(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
