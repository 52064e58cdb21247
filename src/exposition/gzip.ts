import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { constants, createGunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

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
// Room for one member's output (level 1 leaves ~18 % of exposition text), so zlib deflates a member
// in one pass on the thread pool with no turn of the event loop between its parts.
const MEMBER_OUT_BYTES = 256 * 1024;

/**
 * Gzip of chunks as they are made (familyChunks, or familyChunksOf a collection in progress; each
 * is copied before the next is asked for, so they may share one buffer): members of ~1 MiB deflated
 * on the thread pool while the next is filled, at most 2 at once, so a text of any size (~135 MiB at
 * 50,000 VMs) is never held whole. Concatenated members are one gzip body (RFC 1952 §2.2) to
 * Prometheus, curl and browsers.
 */
export async function gzipChunks(
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  level: number = GZIP_LEVEL,
): Promise<Buffer> {
  const options = { level, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: MEMBER_OUT_BYTES };
  const members: Promise<Buffer>[] = [];
  const inputs: Buffer[] = [];
  let input: Buffer = Buffer.alloc(0);
  let size = 0;
  // The buffer of member `i`, once the member that used it last is deflated.
  const slot = async (i: number, min: number): Promise<Buffer> => {
    if (i >= MEMBERS_AT_ONCE) await members[i - MEMBERS_AT_ONCE];
    const b = inputs[i % MEMBERS_AT_ONCE];
    if (b && b.length >= min) return b;
    return (inputs[i % MEMBERS_AT_ONCE] = Buffer.allocUnsafe(Math.max(MEMBER_BYTES, min)));
  };
  const start = (): void => {
    const member = gzipAsync(input.subarray(0, size), options);
    // Awaited with the others; until then a failure must not count as unhandled.
    member.catch(() => undefined);
    members.push(member);
    size = 0;
  };
  for await (const c of chunks) {
    if (size > 0 && size + c.length > MEMBER_BYTES) start();
    if (size === 0) input = await slot(members.length, c.length);
    size += c.copy(input, size);
  }
  // An empty body is one empty member (input is then the empty buffer it started as).
  if (size > 0 || members.length === 0) start();
  return Buffer.concat(await Promise.all(members));
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

/**
 * The text of a gzip body for a client that does not accept gzip, unzipped only as it is read: a
 * 50,000-VM exposition is ~135 MiB of text, and each plain reader holding all of it would not fit.
 */
export function gunzipStream(gz: Buffer): Readable {
  const z = createGunzip({ chunkSize: 64 * 1024 });
  z.end(gz);
  return z;
}
