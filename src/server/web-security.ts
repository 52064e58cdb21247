import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { BasicAuth, type Compare } from './basic-auth.js';
import { BcryptWorker } from './bcrypt-worker.js';
import { clientCertProblem } from './client-cert.js';
import { fingerprint, loadWebConfig, type LoadedWebConfig } from './web-config-load.js';

/** How often the web config file and the files it names are checked for changes. */
export const DEFAULT_POLL_MS = 2000;

/**
 * The live --web.config.file: TLS options for the server, response headers and basic auth for each
 * request. A poll re-reads the file (and the certificates it names) when one changes; a file that
 * does not load keeps the previous configuration in force and logs an error.
 */
export class WebSecurity {
  private server: TlsServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seen: string;
  private closed = false;

  private constructor(
    private readonly bcrypt: BcryptWorker,
    private readonly file: string,
    private current: LoadedWebConfig,
    private auth: BasicAuth | undefined,
    seen: string,
    private readonly logger: Logger,
    private readonly pollMs: number,
  ) {
    this.seen = seen;
  }

  /** Loads the file (ConfigError if it is not valid), logs what is on, and starts watching it. */
  static async start(file: string, logger: Logger, pollMs = DEFAULT_POLL_MS): Promise<WebSecurity> {
    const loaded = await loadWebConfig(file);
    const bcrypt = new BcryptWorker();
    const auth =
      loaded.spec.users.size > 0 ? await BasicAuth.create(loaded.spec.users, compareIn(bcrypt)) : undefined;
    const web = new WebSecurity(bcrypt, file, loaded, auth, await fingerprint(loaded.files), logger, pollMs);
    const t = loaded.spec.tls;
    logger.info(
      {
        file,
        tls: t !== undefined,
        ...(t && { clientAuth: t.clientAuth, minVersion: t.minVersion, maxVersion: t.maxVersion }),
        basicAuth: auth !== undefined,
        users: loaded.spec.users.size,
      },
      'web config loaded',
    );
    if (auth && !t)
      logger.warn({ file }, 'basic auth without TLS: passwords cross the network in clear text');
    web.schedule();
    return web;
  }

  /** Options for https.createServer, or undefined for plain HTTP (fixed for the process lifetime). */
  get serverOptions(): TlsOptions | undefined {
    const t = this.current.spec.tls;
    if (!t || !this.current.secureContext) return undefined;
    return {
      ...this.current.secureContext,
      requestCert: t.clientAuth !== 'NoClientCert',
      // Only this mode may fail the handshake itself; the others are checked once it is done.
      rejectUnauthorized: t.clientAuth === 'RequireAndVerifyClientCert',
    };
  }

  /** Hooks the TLS server: client certificate policy per connection, certificate swaps on reload. */
  attach(server: TlsServer): void {
    this.server = server;
    // Before the HTTP layer reads anything from the connection.
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      const t = this.current.spec.tls;
      const problem = t ? clientCertProblem(socket, t.clientAuth, t.allowedSans) : undefined;
      if (problem === undefined) return;
      this.logger.debug({ remote: socket.remoteAddress, problem }, 'TLS client refused');
      socket.destroy();
    });
  }

  /** Sets the extra headers; answers 401 (503 when too many checks wait) and returns false when basic auth fails. */
  async guard(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    for (const [name, value] of Object.entries(this.current.spec.headers)) res.setHeader(name, value);
    const auth = this.auth;
    if (auth === undefined) return true;
    const outcome = await auth.check(req.headers.authorization);
    if (outcome.ok) return true;
    if (outcome.reason === 'busy') {
      this.logger.debug(
        { remote: req.socket.remoteAddress },
        'basic auth busy: too many password checks waiting',
      );
      plainAnswer(req, res, 503, { 'Retry-After': '1' }, '503 too many password checks at once; retry\n');
      return false;
    }
    this.logger.debug(
      { reason: outcome.reason, bcrypt: outcome.bcrypt, remote: req.socket.remoteAddress },
      'basic auth refused',
    );
    plainAnswer(req, res, 401, { 'WWW-Authenticate': 'Basic' }, 'Unauthorized\n');
    return false;
  }

  /** Stops watching the file and ends the bcrypt worker. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    void this.bcrypt.close();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.poll().finally(() => this.schedule()), this.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const now = await fingerprint(this.current.files);
    if (now === this.seen) return;
    this.seen = now;
    try {
      await this.reload();
    } catch (e) {
      this.logger.error(
        { file: this.file, error: e instanceof Error ? e.message : String(e) },
        'web config reload failed; keeping the previous configuration',
      );
    }
  }

  private async reload(): Promise<void> {
    const next = await loadWebConfig(this.file);
    const before = this.current.spec.tls;
    const after = next.spec.tls;
    // The server's kind (HTTP or HTTPS) and its client certificate request are fixed at listen().
    if ((before === undefined) !== (after === undefined)) {
      throw new Error('turning TLS on or off needs a restart');
    }
    if (before && after && before.clientAuth !== after.clientAuth) {
      throw new Error(
        `client_auth_type changed from ${before.clientAuth} to ${after.clientAuth}: needs a restart`,
      );
    }
    // An emptied or truncated file must not silently open every path: like TLS, auth goes off only at a restart.
    if (this.auth !== undefined && next.spec.users.size === 0) {
      throw new Error('basic_auth_users is gone: turning basic auth off needs a restart');
    }
    const sameUsers =
      JSON.stringify([...next.spec.users].sort()) === JSON.stringify([...this.current.spec.users].sort());
    const auth = sameUsers
      ? this.auth
      : next.spec.users.size > 0
        ? await BasicAuth.create(next.spec.users, compareIn(this.bcrypt))
        : undefined;
    if (next.secureContext) this.server?.setSecureContext(next.secureContext);
    this.current = next;
    this.auth = auth;
    this.seen = await fingerprint(next.files);
    this.logger.info(
      {
        file: this.file,
        tls: after !== undefined,
        basicAuth: auth !== undefined,
        users: next.spec.users.size,
      },
      'web config reloaded',
    );
  }
}

function compareIn(worker: BcryptWorker): Compare {
  return (password, hash) => worker.compare(password, hash);
}

/** A short ASCII text/plain answer (no body for HEAD). */
function plainAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(body.length),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
