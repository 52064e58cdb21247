import fc from 'fast-check';

/**
 * `whole` cut at `points` (each taken modulo its length + 1; repeats merged): the chunks a
 * socket might deliver it in, for tests that a parser's outcome does not depend on them.
 */
export function cutAt(whole: string, points: readonly number[]): string[];
export function cutAt(whole: Uint8Array, points: readonly number[]): Uint8Array[];
export function cutAt(whole: string | Uint8Array, points: readonly number[]): (string | Uint8Array)[] {
  const at = [...new Set(points.map((p) => p % (whole.length + 1)))].sort((a, b) => a - b);
  const piece = (from: number, to?: number) =>
    typeof whole === 'string' ? whole.slice(from, to) : whole.subarray(from, to);
  const chunks: (string | Uint8Array)[] = [];
  let last = 0;
  for (const p of at) {
    chunks.push(piece(last, p));
    last = p;
  }
  chunks.push(piece(last));
  return chunks;
}

/** `doc` with up to 3 characters dropped at one point and one of `extras` put there: a broken copy. */
export function spliced(doc: fc.Arbitrary<string>, extras: readonly string[]): fc.Arbitrary<string> {
  return fc
    .record({ xml: doc, at: fc.nat(), drop: fc.nat({ max: 3 }), extra: fc.constantFrom(...extras) })
    .map(({ xml, at, drop, extra }) => {
      const i = at % (xml.length + 1);
      return xml.slice(0, i) + extra + xml.slice(i + drop);
    });
}
