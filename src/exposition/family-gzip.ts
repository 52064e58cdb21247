import { GzipMembers } from './gzip.js';
import { MetricFamily } from './metric-family.js';
import { claimName, familyTexts, sampleTexts } from './text-encoder.js';

// A family with fewer samples (or a volatile one) is deflated with its neighbours and never kept:
// the members of a small family would each lose the history deflate had from the text before them.
const KEPT_MIN_SAMPLES = 1000;
// Samples per block: a large family is deflated in blocks of its own, each put back by itself, so
// one VM that changed (powered off, moved to another host) costs its block, not its family.
const BLOCK_SAMPLES = 4096;
// Encodings a family that changed throughout is not kept for (a family that changes at every
// scrape but is not marked volatile, e.g. snapshot ages: keeping it would hold memory for nothing).
const REST_AFTER_CHANGE = 8;

/** A family's samples as compared: arrays of their exact size, values unboxed. */
interface Samples {
  help: string;
  type: string;
  heads: readonly string[];
  tails: readonly string[] | undefined;
  values: Float64Array;
}

interface Kept {
  /** What the members were made from: compared, never written. */
  samples: Samples;
  /** Members per block (BLOCK_SAMPLES samples each, the last one shorter). */
  blocks: (readonly Buffer[])[];
}

/**
 * The gzip members of the large families of the last encoding, by block of samples, each with the
 * samples it was made from. At 10,000 VMs about 60 % of the exposition (vsphere_vm_info, power and
 * tools states, boot time, CPUs, memory, snapshots, entity status) is the same from one scrape to
 * the next: its members are put back instead of encoded and deflated again.
 */
export class FamilyGzipCache {
  #kept = new Map<string, Kept>();
  // Families not kept, by name: encodings left before they are kept again.
  #resting = new Map<string, number>();
  #reused = 0;

  /** Blocks the last encoding put back (for tests and inspection). */
  get reused(): number {
    return this.#reused;
  }

  /**
   * The gzip body of `families` (as gzipChunks(familyTexts(families)) would be), each large family
   * in blocks of members of their own: the blocks kept for the same samples are put back as they
   * are, the others are made and kept for the next encoding (a failed encoding keeps nothing new).
   */
  async gzip(families: Iterable<MetricFamily>): Promise<Buffer> {
    const out = new GzipMembers();
    const names = new Set<string>();
    const next: Next = { keep: [], resting: new Map(), reused: 0 };
    for (const family of families) {
      claimName(names, family.name);
      if (family.size >= KEPT_MIN_SAMPLES && !family.volatile) await this.#large(out, family, next);
      else for (const text of familyTexts([family])) await out.write(text);
    }
    const body = await out.body();
    const kept = new Map<string, Kept>();
    for (const { name, samples, blocks } of next.keep) {
      const members: (readonly Buffer[])[] = [];
      for (const b of blocks) members.push('members' in b ? b.members : await exact(out, b.first, b.end));
      kept.set(name, {
        samples: samples instanceof MetricFamily ? compact(samples) : samples,
        blocks: members,
      });
    }
    this.#kept = kept;
    this.#resting = next.resting;
    this.#reused = next.reused;
    return body;
  }

  // Writes a large family block by block, putting back the blocks kept for the same samples.
  async #large(out: GzipMembers, family: MetricFamily, next: Next): Promise<void> {
    const found = this.#kept.get(family.name);
    const kept =
      found?.samples.help === family.help && found.samples.type === family.type ? found : undefined;
    const blocks: Block[] = [];
    let same = 0;
    for (let from = 0, b = 0; from < family.size; from += BLOCK_SAMPLES, b++) {
      const to = Math.min(family.size, from + BLOCK_SAMPLES);
      const members = kept?.blocks[b];
      if (members && sameBlock(kept.samples, family, from, to)) {
        out.put(members);
        blocks.push({ members });
        same++;
        continue;
      }
      out.cut();
      const first = out.count;
      for (const text of sampleTexts(family, from, to)) await out.write(text);
      out.cut();
      blocks.push({ first, end: out.count });
    }
    next.reused += same;
    // Changed in every block of several: samples that change every scrape (ages, free space).
    const changed = kept !== undefined && same === 0 && blocks.length > 1;
    const rest = changed ? REST_AFTER_CHANGE : (this.#resting.get(family.name) ?? 0) - 1;
    if (rest > 0) {
      next.resting.set(family.name, rest);
      return;
    }
    // Every block put back: the samples kept, which have lived through collections already.
    const all = kept && same === blocks.length && kept.samples.values.length === family.size;
    next.keep.push({ name: family.name, samples: all ? kept.samples : family, blocks });
  }
}

/** What one encoding keeps for the next. */
interface Next {
  keep: { name: string; samples: Samples | MetricFamily; blocks: Block[] }[];
  resting: Map<string, number>;
  reused: number;
}

/** A block put back (its members) or made (the index range of its members). */
type Block = { members: readonly Buffer[] } | { first: number; end: number };

// Copies to buffers of their own size: zlib hands a member over as a slice of its output room.
async function exact(out: GzipMembers, first: number, end: number): Promise<Buffer[]> {
  return (await out.members(first, end)).map((m) => Buffer.from(m));
}

// A copy held between encodings: a family's arrays have room to grow, its values may be boxed.
function compact(family: MetricFamily): Samples {
  const { heads, tails } = family.labelParts;
  return {
    help: family.help,
    type: family.type,
    heads: heads.slice(),
    tails: tails?.slice(),
    values: Float64Array.from(family.values),
  };
}

// Whether samples [from, to) of `b` are written as the block of `a` starting at `from` was: the
// same range (a's block may end elsewhere) and the same label parts and values (Object.is: -0 and
// 0 are written apart, NaN as NaN).
function sameBlock(a: Samples, b: MetricFamily, from: number, to: number): boolean {
  if (Math.min(a.values.length, from + BLOCK_SAMPLES) !== to) return false;
  const pb = b.labelParts;
  const va = a.values;
  const vb = b.values;
  for (let i = from; i < to; i++) {
    if (!Object.is(va[i], vb[i]) || a.heads[i] !== pb.heads[i]) return false;
    if ((a.tails?.[i] ?? '') !== (pb.tails?.[i] ?? '')) return false;
  }
  return true;
}
