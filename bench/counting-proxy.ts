/**
 * A pass-through TCP proxy between the exporter and vcsim that counts SOAP requests and response
 * bytes per method, for the benchmark. It stays cheap: each client connection gets its own upstream
 * connection (keep-alive on both sides), bytes are forwarded raw in both directions, and only the
 * requests (a few KiB each) are parsed, to find where each one ends and its SOAP method. Answers are
 * never parsed: as HTTP/1.1 clients without pipelining (the exporter's pool) send the next request on
 * a connection only after the previous answer, every upstream byte belongs to the connection's last
 * request. While capturing, it also keeps each request's exact body and headers and the first
 * 64 KiB of its answer body, so the floor can replay them (bench/floor.ts).
 */
import { createServer, connect, type Socket } from 'node:net';

/** One SOAP request seen by the proxy. */
export interface ProxyRecord {
  /** Order of arrival, from 0. */
  seq: number;
  method: string;
  requestBytes: number;
  /** Answer bytes on the wire so far, status line and headers included (final once answered). */
  responseBytes: number;
  /** HTTP status of the answer; 0 until it starts. */
  status: number;
  /** performance.now() when the whole request had arrived at the proxy. */
  startedAt: number;
  /** performance.now() of the last answer byte so far (0 until the answer starts): the call took endedAt - startedAt. */
  endedAt: number;
  /** A RetrievePropertiesEx reading every VirtualMachine of a ContainerView: a full VM inventory read. */
  fullInventory: boolean;
  /** Set only while capturing: what the floor needs to replay this request. */
  capture?: CapturedRequest;
}

/** A request as sent (exact body bytes, end-to-end headers) and the head of its answer. */
export interface CapturedRequest {
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  /** About the first 64 KiB of the answer body (holds returnval moids and paging tokens); complete after drain(). */
  responseHead: Buffer;
  status: number;
}

/** A running counting proxy. */
export interface CountingProxy {
  /** e.g. http://127.0.0.1:PORT/sdk: same path as the upstream URL. */
  url: string;
  /** Records since the previous drain(), in arrival order; forgets them. */
  drain(): ProxyRecord[];
  /** Keep request bodies and answer heads from now on (true) or not (false). */
  setCapture(on: boolean): void;
  /** Closes the server and every connection. */
  close(): Promise<void>;
}

/** The method recorded when no SOAP method could be found in a request. */
export const UNKNOWN_METHOD = '(unknown)';

const HEAD_BYTES = 64 * 1024;
const MAX_REQUEST_HEADER = 64 * 1024;
const METHOD_RE = /<(?:[\w.-]+:)?Body(?:\s[^>]*)?>\s*<(?:[\w.-]+:)?([\w.-]+)[\s>/]/;
const VM_TYPE_RE = /<(?:[\w.-]+:)?type>\s*VirtualMachine\s*<\/(?:[\w.-]+:)?type>/;
const VIEW_TRAVERSAL_RE = /<(?:[\w.-]+:)?type>\s*ContainerView\s*<\/(?:[\w.-]+:)?type>/;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'host',
  'content-length',
]);

/** SOAP method of a request body: the first element inside the SOAP Body (looked for in its first 4 KiB). */
export function soapMethodOf(body: Buffer): string {
  return METHOD_RE.exec(body.subarray(0, 4096).toString('latin1'))?.[1] ?? UNKNOWN_METHOD;
}

/**
 * True for a RetrievePropertiesEx that reads every VM of a ContainerView (a full inventory read).
 * The cluster, datastore, pool, datacenter and alarm collectors read their own few hundred objects
 * through views every scrape; those are not the 10,000-VM read the incremental mode avoids.
 */
export function isFullInventoryRead(method: string, body: Buffer): boolean {
  if (method !== 'RetrievePropertiesEx') return false;
  const text = body.toString('latin1');
  return VIEW_TRAVERSAL_RE.test(text) && VM_TYPE_RE.test(text);
}

/** A complete HTTP/1.1 request at the start of `buf`, or undefined while it is incomplete. */
export function parseRequest(
  buf: Buffer,
): { length: number; headers: Record<string, string>; body: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_REQUEST_HEADER) throw new Error('request header too large');
    return undefined;
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n').slice(1);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const start = end + 4;
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return undefined;
      const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
      if (!Number.isFinite(size)) throw new Error('bad chunk size');
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', eol);
        if (trailerEnd < 0) return undefined;
        return { length: trailerEnd + 4, headers: endToEnd(headers), body: Buffer.concat(parts) };
      }
      if (buf.length < eol + 2 + size + 2) return undefined;
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < start + length) return undefined;
  return { length: start + length, headers: endToEnd(headers), body: buf.subarray(start, start + length) };
}

/** The body part of the first bytes of an HTTP answer (status line and headers dropped, chunked framing removed). */
export function answerBodyHead(wire: Buffer): Buffer {
  const end = wire.indexOf('\r\n\r\n');
  if (end < 0) return Buffer.alloc(0);
  const body = wire.subarray(end + 4);
  if (!/^transfer-encoding:\s*chunked/im.test(wire.subarray(0, end).toString('latin1'))) return body;
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length;) {
    const eol = body.indexOf('\r\n', at);
    const size = eol < 0 ? Number.NaN : parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(eol + 2, Math.min(body.length, eol + 2 + size)));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function endToEnd(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([name]) => !HOP_BY_HOP.has(name)));
}

/** Starts a counting proxy on 127.0.0.1 (ephemeral port) in front of `upstreamUrl` (e.g. vcsim's .../sdk). */
export async function startCountingProxy(upstreamUrl: string): Promise<CountingProxy> {
  const upstream = new URL(upstreamUrl);
  if (upstream.protocol !== 'http:') throw new Error('counting proxy: plain http upstreams only');
  let records: ProxyRecord[] = [];
  let seq = 0;
  let capture = false;
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    const up = connect(Number(upstream.port || 80), upstream.hostname);
    for (const s of [client, up]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.once('close', () => up.destroy());
    up.once('close', () => client.destroy());
    let pending: Buffer = Buffer.alloc(0);
    let current: ProxyRecord | undefined;
    let head: Buffer[] = [];
    let headLen = 0;

    client.on('data', (chunk: Buffer) => {
      if (!up.write(chunk)) {
        client.pause();
        up.once('drain', () => client.resume());
      }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      try {
        for (let req = parseRequest(pending); req; req = parseRequest(pending)) {
          const body = Buffer.from(req.body); // a copy: `pending` is sliced away below
          const method = soapMethodOf(body);
          current = {
            seq: seq++,
            method,
            requestBytes: body.length,
            responseBytes: 0,
            status: 0,
            startedAt: performance.now(),
            endedAt: 0,
            fullInventory: isFullInventoryRead(method, body),
          };
          if (capture)
            current.capture = {
              method,
              headers: req.headers,
              body,
              responseHead: Buffer.alloc(0),
              status: 0,
            };
          head = [];
          headLen = 0;
          records.push(current);
          pending = pending.subarray(req.length);
        }
      } catch {
        client.destroy();
      }
    });
    up.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) {
        up.pause();
        client.once('drain', () => up.resume());
      }
      const rec = current;
      if (!rec) return;
      if (rec.responseBytes === 0)
        rec.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 16))?.[1] ?? 0);
      rec.responseBytes += chunk.length;
      rec.endedAt = performance.now();
      if (rec.capture && headLen < HEAD_BYTES) {
        head.push(chunk);
        headLen += chunk.length;
        rec.capture.responseHead = Buffer.concat(head).subarray(0, HEAD_BYTES);
        rec.capture.status = rec.status;
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('counting proxy: no TCP address');

  return {
    url: `http://127.0.0.1:${address.port}${upstream.pathname}`,
    drain: () => {
      const out = records;
      records = [];
      for (const r of out) if (r.capture) r.capture.responseHead = answerBodyHead(r.capture.responseHead);
      return out;
    },
    setCapture: (on) => void (capture = on),
    close: async () => {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
