/**
 * An HTTP proxy in front of vcsim that answers a QueryPerf body it has seen before with the answer
 * it got the first time. vcsim makes up new perf values on every call, so two exporters comparing
 * their output (bench/compare-output.ts) must see the same answers to the same questions. Every
 * other call goes through unchanged. Loopback only; answers are kept for the proxy's life.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { soapMethodOf } from './counting-proxy.js';

/** A running replay proxy. */
export interface ReplayProxy {
  /** e.g. http://127.0.0.1:PORT/sdk: same path as the upstream URL. */
  url: string;
  /** QueryPerf calls answered from what was kept, and sent to vcsim. */
  stats: { replayed: number; forwarded: number };
  /** Answer bytes by SOAP method, all calls. */
  bytes: Map<string, number>;
  close(): Promise<void>;
}

interface Kept {
  status: number;
  contentType: string;
  body: Buffer;
}

// Request headers passed upstream: the rest are per-connection or would make vcsim compress.
const PASSED = ['content-type', 'soapaction', 'cookie', 'vmware-api-session-id', 'authorization'];

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

/** Starts a replay proxy on 127.0.0.1 (ephemeral port) in front of `upstreamUrl`. */
export async function startReplayProxy(upstreamUrl: string): Promise<ReplayProxy> {
  const upstream = new URL(upstreamUrl);
  const kept = new Map<string, Kept>();
  const stats = { replayed: 0, forwarded: 0 };
  const bytes = new Map<string, number>();

  const forward = async (req: IncomingMessage, body: Buffer): Promise<Kept & { cookies: string[] }> => {
    const headers: Record<string, string> = {};
    for (const h of PASSED) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const res = await fetch(new URL(req.url ?? '/', upstream), {
      method: req.method ?? 'GET',
      headers,
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
    });
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? 'text/xml',
      body: Buffer.from(await res.arrayBuffer()),
      cookies: res.headers.getSetCookie(),
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const method = soapMethodOf(body);
    const isPerf = method === 'QueryPerf';
    const key = isPerf ? body.toString('latin1') : '';
    let answer: Kept & { cookies?: string[] };
    const old = isPerf ? kept.get(key) : undefined;
    if (old) {
      stats.replayed++;
      answer = old;
    } else {
      answer = await forward(req, body);
      if (isPerf) {
        stats.forwarded++;
        if (answer.status === 200) kept.set(key, answer);
      }
    }
    bytes.set(method, (bytes.get(method) ?? 0) + answer.body.length);
    res.writeHead(answer.status, {
      'content-type': answer.contentType,
      'content-length': answer.body.length,
      ...(answer.cookies?.length ? { 'set-cookie': answer.cookies } : {}),
    });
    res.end(answer.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    stats,
    bytes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
