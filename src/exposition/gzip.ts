import { promisify } from 'node:util';
import { constants, gunzip, gzip, type ZlibOptions } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

// Levels 1-3 use zlib's greedy "fast" deflate; 4+ switch to lazy matching, which costs
// markedly more CPU. Exposition text is extremely repetitive (the same metric and label names
// on every line), so the greedy matcher already captures most of the ratio, and scrape latency
// at ~200k samples matters more than a few percent of bytes on a LAN link.
/** zlib compression level used for scrape bodies (speed-oriented; see rationale above). */
export const GZIP_LEVEL = 1;

/** Gzips a response body off the event loop (zlib runs on the libuv thread pool). */
export function gzipBody(body: Buffer, level: number = GZIP_LEVEL): Promise<Buffer> {
  return gzipAsync(body, { level, strategy: constants.Z_DEFAULT_STRATEGY });
}

// A 10,000-VM exposition is ~25 MiB of text, ~140 ms of deflate on one core. Cut into members of
// this size, it is deflated on the thread pool beside the encoding that makes it; each member loses
// only deflate's first 32 KiB of history, a few hundred bytes per MiB.
const MEMBER_BYTES = 1 << 20;
// Members in flight at once. Their text is copied into as many buffers, reused from member to
// member: 25 MiB of fresh buffers per scrape would cost V8 extra full collections (external memory).
const MEMBERS_AT_ONCE = 2;
// Most room for one member's output (level 1 leaves ~15–18 % of exposition text), so zlib deflates a
// member in one pass on the thread pool with no turn of the event loop between its parts.
const MEMBER_OUT_BYTES = 256 * 1024;

/**
 * Gzip of chunks as they are made (e.g. familyTexts; strings as UTF-8): members of ~1 MiB deflated
 * on the thread pool while the next is filled, at most 2 at once, so a text of any size (~135 MiB
 * at 50,000 VMs) is never held whole. Concatenated members are one gzip body (RFC 1952 §2.2) to
 * Prometheus, curl and browsers.
 */
export async function gzipChunks(
  chunks: Iterable<Buffer | string>,
  level: number = GZIP_LEVEL,
): Promise<Buffer> {
  const members = new GzipMembers(level);
  for (const c of chunks) await members.write(c);
  return members.body();
}

/** An input buffer of GzipMembers, and the member last deflated from it. */
interface MemberInput {
  buffer: Buffer;
  deflating?: Promise<Buffer>;
}

/**
 * Gzip members made from text as it is written (see gzipChunks), with members made earlier (a
 * kept family's) put in between. A member is cut at `cut()`, so the members of one part of the
 * text can be kept and put back later without deflating it again.
 */
export class GzipMembers {
  readonly #options: ZlibOptions;
  readonly #members: Promise<Buffer>[] = [];
  // Input buffers, reused in turn once the member last made from each is deflated.
  readonly #inputs: MemberInput[] = [];
  #turn = 0;
  #input: MemberInput = { buffer: Buffer.alloc(0) };
  #size = 0;

  constructor(level: number = GZIP_LEVEL) {
    this.#options = { level, strategy: constants.Z_DEFAULT_STRATEGY };
  }

  /** Members so far (the one being filled not counted until it is cut). */
  get count(): number {
    return this.#members.length;
  }

  /** Adds text; waits only when a member's buffer is still being deflated. */
  async write(c: Buffer | string): Promise<void> {
    // A string is written as UTF-8 straight into the member's buffer: at most 3 bytes per unit.
    const most = typeof c === 'string' ? 3 * c.length : c.length;
    if (this.#size > 0 && this.#size + most > MEMBER_BYTES) this.cut();
    if (this.#size === 0) this.#input = await this.#slot(most);
    const b = this.#input.buffer;
    this.#size += typeof c === 'string' ? b.write(c, this.#size) : c.copy(b, this.#size);
  }

  /** Ends the member being filled, if any. */
  cut(): void {
    if (this.#size === 0) return;
    // Output room for this member (exposition text deflates to ~15 %): zlib hands the member over
    // as a slice of it, so a small member must not hold a whole MEMBER_OUT_BYTES.
    const chunkSize = Math.min(MEMBER_OUT_BYTES, (this.#size >> 2) + 4096);
    const member = gzipAsync(this.#input.buffer.subarray(0, this.#size), { ...this.#options, chunkSize });
    // Awaited with the others; until then a failure must not count as unhandled.
    member.catch(() => undefined);
    this.#input.deflating = member;
    this.#members.push(member);
    this.#size = 0;
  }

  /** Cuts the member being filled and adds finished members after it. */
  put(made: readonly Buffer[]): void {
    this.cut();
    for (const m of made) this.#members.push(Promise.resolve(m));
  }

  /** The members from index `from` to `to` (after cut()), once deflated. */
  members(from: number, to: number): Promise<Buffer[]> {
    return Promise.all(this.#members.slice(from, to));
  }

  /** Every member, concatenated: the gzip body. */
  async body(): Promise<Buffer> {
    this.cut();
    // An empty body is one empty member.
    if (this.#members.length === 0) this.#members.push(gzipAsync(Buffer.alloc(0), this.#options));
    return Buffer.concat(await Promise.all(this.#members));
  }

  // The next input buffer in turn, once the member last made from it is deflated.
  async #slot(min: number): Promise<MemberInput> {
    const turn = this.#turn;
    this.#turn = (turn + 1) % MEMBERS_AT_ONCE;
    const input = (this.#inputs[turn] ??= { buffer: Buffer.alloc(0) });
    if (input.deflating) await input.deflating;
    if (input.buffer.length < min) input.buffer = Buffer.allocUnsafe(Math.max(MEMBER_BYTES, min));
    return input;
  }
}

// RFC 9110 qvalue grammar: 0, 0.x{0,3}, 1, 1.0{0,3}.
const QVALUE_RE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Returns whether an Accept-Encoding header allows a gzip response (RFC 9110 §12.5.3). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  // An explicit gzip entry overrides `*`, so e.g. `*, gzip;q=0` must refuse gzip.
  let gzipQ = -1;
  let starQ = -1;
  for (const element of acceptEncoding.split(',')) {
    const params = element.split(';');
    const coding = (params[0] as string).trim().toLowerCase();
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    let q = 1;
    let valid = true;
    for (let i = 1; i < params.length; i++) {
      const param = params[i] as string;
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      if (param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const raw = param.slice(eq + 1).trim();
      // A malformed weight makes the element meaningless; ignoring it is safer than guessing.
      if (!QVALUE_RE.test(raw)) {
        valid = false;
        break;
      }
      q = Number(raw);
    }
    if (!valid) continue;
    if (coding === '*') starQ = Math.max(starQ, q);
    else gzipQ = Math.max(gzipQ, q);
  }
  const q = gzipQ >= 0 ? gzipQ : starQ;
  return q > 0;
}

/** The text of a gzip body, for a client that does not accept gzip. */
export async function gunzipToChunks(gz: Buffer): Promise<readonly Buffer[]> {
  return [await gunzipAsync(gz)];
}
