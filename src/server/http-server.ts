import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import { writeAnswer, writeStreamedAnswer } from './answer-writer.js';
import type { WebSecurity } from './web-security.js';

/** A route's handler; GET handlers also serve HEAD. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * The HTTP front: exact-path GET and POST routes, 404 for unknown paths, 405 for other methods. With a web
 * config (--web.config.file) it serves HTTPS if that asks for TLS, and every request, whatever its
 * path, first passes the config's basic auth.
 */
export class HttpServer {
  private readonly server: Server;
  private readonly routes = new Map<string, Handler>();
  private readonly postRoutes = new Map<string, Handler>();
  /** Every accepted TCP connection: one still in its TLS handshake is no HTTP connection yet. */
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly logger: Logger,
    private readonly web?: WebSecurity,
  ) {
    // Slow or idle clients must not pin sockets forever. Node only checks these timeouts every
    // connectionsCheckingInterval (30 s by default), so check every second.
    const options = {
      headersTimeout: 10_000,
      requestTimeout: 60_000,
      connectionsCheckingInterval: 1000,
      maxHeaderSize: 16 * 1024,
    };
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      if (!web) return this.dispatch(req, res);
      web.guard(req, res).then(
        (ok) => ok && this.dispatch(req, res),
        (e: unknown) => this.fail(res, e, 'auth'),
      );
    };
    const tls = web?.serverOptions;
    if (web && tls) {
      // A connection that never starts its handshake is otherwise held for Node's default of 120 s.
      const https = createHttpsServer({ ...options, handshakeTimeout: 10_000, ...tls }, listener);
      web.attach(https);
      this.server = https;
    } else {
      this.server = createServer(options, listener);
    }
    this.server.keepAliveTimeout = 65_000;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Registers a GET (and HEAD) route for an exact path; a path registered twice is an error. */
  get(path: string, handler: Handler): void {
    if (this.routes.has(path)) throw new Error(`GET ${path} is already a route`);
    this.routes.set(path, handler);
  }

  /** Registers a POST route for an exact path; a path registered twice is an error. */
  post(path: string, handler: Handler): void {
    if (this.postRoutes.has(path)) throw new Error(`POST ${path} is already a route`);
    this.postRoutes.set(path, handler);
  }

  /** Listens on `host:port` ("" host = all interfaces) and resolves with the bound address. */
  listen(address: string): Promise<AddressInfo> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    const port = Number(address.slice(i + 1));
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host: host || undefined }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting connections, lets in-flight requests finish for `graceMs`, then cuts the rest. */
  async close(graceMs: number): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // A keep-alive connection turns idle only once its last answer is sent: keep closing idle ones.
    this.server.closeIdleConnections();
    const idle = setInterval(() => this.server.closeIdleConnections(), 20);
    // closeAllConnections() knows HTTP connections only; a TLS connection still in (or never
    // starting) its handshake would hold close() for the 10 s handshake timeout.
    const timer = setTimeout(() => {
      this.server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearInterval(idle);
    clearTimeout(timer);
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const get = this.routes.get(path);
    const post = this.postRoutes.get(path);
    if (!get && !post) {
      send(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
      return;
    }
    const handler =
      req.method === 'GET' || req.method === 'HEAD' ? get : req.method === 'POST' ? post : undefined;
    if (!handler) {
      res.setHeader('Allow', [...(get ? ['GET', 'HEAD'] : []), ...(post ? ['POST'] : [])].join(', '));
      send(res, 405, 'text/plain; charset=utf-8', '405 method not allowed\n');
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((e: unknown) => this.fail(res, e, path));
  }

  private fail(res: ServerResponse, e: unknown, path: string): void {
    this.logger.error({ error: e instanceof Error ? e.message : String(e), path }, 'request handler failed');
    if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', '500 internal error\n');
    else res.destroy();
  }
}

/**
 * Writes a complete response (HEAD gets headers only); parts are written without concatenating, as
 * fast as the client reads, and a client that stops reading is cut (see writeAnswer).
 */
export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer | readonly Buffer[],
  headers: Record<string, string> = {},
): void {
  const parts = typeof body === 'string' ? [Buffer.from(body)] : Buffer.isBuffer(body) ? [body] : body;
  const length = parts.reduce((n, p) => n + p.length, 0);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(length), ...headers });
  writeAnswer(res, res.req.method === 'HEAD' ? [] : parts);
}

/**
 * Writes a response whose body is what `open` gives, then `tail`, without a length (chunked). HEAD
 * gets the headers only, and `open` is not called: the body may be costly to make (unzipped text).
 */
export async function sendStream(
  res: ServerResponse,
  status: number,
  contentType: string,
  open: () => Promise<Readable>,
  tail: Buffer,
  headers: Record<string, string> = {},
): Promise<void> {
  const source = res.req.method === 'HEAD' ? undefined : await open();
  if (res.destroyed) return void source?.destroy();
  res.writeHead(status, { 'Content-Type': contentType, ...headers });
  if (source) writeStreamedAnswer(res, source, tail);
  else writeAnswer(res, []);
}
