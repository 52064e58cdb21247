// Distinct element names shared per answer (vim25 has a few hundred): one string each, not one per node.
const MAX_INTERNED_NAMES = 4096;

/** One shared copy of each element name of an answer, instead of one slice of a chunk per node. */
export class NameInterner {
  private readonly names = new Map<string, string>();
  /** The interned names of the last two elements opened at each depth `d`, at 2d and 2d + 1. */
  private readonly lastNames: (string | undefined)[] = [];

  /**
   * intern() with a memory of the last two names opened at `depth`: siblings alternate between
   * one or two names (`id`, `value`, `id`, … in a QueryPerf series), so a string comparison or two
   * usually finds the shared copy without hashing the fresh name for the Map.
   */
  internAt(depth: number, name: string): string {
    const names = this.lastNames;
    const i = 2 * depth;
    const a = names[i];
    if (a === name) return a;
    const b = names[i + 1];
    if (b === name) return b;
    const known = this.intern(name);
    names[i + 1] = a;
    names[i] = known;
    return known;
  }

  /** One shared copy of each element name (copied off the chunk it was cut from). */
  intern(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (this.names.size >= MAX_INTERNED_NAMES) return name;
    const copy = name.length < 13 ? name : (' ' + name).slice(1);
    this.names.set(copy, copy);
    return copy;
  }
}
