import { once } from 'node:events';
import { promisify } from 'node:util';
import { constants, createGzip, gunzip, gzip } from 'node:zlib';

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

/** Gzip of chunks as one stream (one member), without first joining them into one buffer. */
export function gzipChunks(chunks: readonly Buffer[], level: number = GZIP_LEVEL): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gz = createGzip({ level, strategy: constants.Z_DEFAULT_STRATEGY });
    const out: Buffer[] = [];
    gz.on('data', (b: Buffer) => out.push(b));
    gz.on('error', reject);
    gz.on('end', () => resolve(Buffer.concat(out)));
    for (const c of chunks) gz.write(c);
    gz.end();
  });
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
 * Gzip of chunks made one at a time (e.g. familyChunks), waiting for zlib before making the next:
 * at 50,000 VMs the text is ~135 MiB and its gzip ~10 % of that, so the text is never held whole.
 */
export async function gzipChunkStream(chunks: Iterable<Buffer>, level: number = GZIP_LEVEL): Promise<Buffer> {
  const gz = createGzip({ level, strategy: constants.Z_DEFAULT_STRATEGY });
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  const ended = once(gz, 'end');
  try {
    for (const c of chunks) if (!gz.write(c)) await once(gz, 'drain');
  } catch (e) {
    gz.destroy();
    throw e;
  }
  gz.end();
  await ended;
  return Buffer.concat(out);
}

/** The text of a gzip body, for a client that does not accept gzip. */
export async function gunzipToChunks(gz: Buffer): Promise<readonly Buffer[]> {
  return [await gunzipAsync(gz)];
}
