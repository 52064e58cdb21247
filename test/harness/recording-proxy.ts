/**
 * A transparent HTTP proxy in front of vcsim that records every request's method, path, status and
 * vAPI session id header, so tests can see which REST calls the exporter makes (and with which
 * session) without the exporter's cooperation. Bodies are forwarded, never recorded.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One forwarded request. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query string (with `?`), or ''. */
  query: string;
  status: number;
  /** The vmware-api-session-id header sent, if any (a test-only secret, never printed). */
  sessionId?: string;
}

/** A running proxy. */
export interface RecordingProxy {
  /** The proxied SOAP URL: same path as the upstream URL, on the proxy's port. */
  url: string;
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

function forwardHeaders(h: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/** Starts a proxy on 127.0.0.1 (ephemeral port) forwarding everything to `upstreamUrl`'s origin. */
export async function startRecordingProxy(upstreamUrl: string): Promise<RecordingProxy> {
  const upstream = new URL(upstreamUrl);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const sid = req.headers['vmware-api-session-id'];
    const up = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: forwardHeaders(req.headers),
        agent: false,
      },
      (upRes) => {
        requests.push({
          method: req.method ?? '',
          path: url.pathname,
          query: url.search,
          status: upRes.statusCode ?? 0,
          ...(typeof sid === 'string' ? { sessionId: sid } : {}),
        });
        res.writeHead(upRes.statusCode ?? 502, forwardHeaders(upRes.headers));
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}${upstream.pathname}`,
    origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
