import { poolOptions, type ConnectionOptions } from '../pool-options.js';
import { Pool } from 'undici';
import { VsphereError } from '../soap/errors.js';
import { toVsphereError } from '../soap/transport.js';

/** How to reach vCenter's vAPI endpoint: same TLS and limits as the SOAP transport. */
export interface RestTransportOptions extends ConnectionOptions {
  /** vCenter origin, e.g. https://vc.example.com (the SOAP URL's origin). */
  origin: string;
}

/** One HTTP request to the vAPI endpoint. */
export interface RestRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path with query, e.g. /rest/com/vmware/cis/tagging/tag. */
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/** Status and parsed JSON body (undefined when the body is empty or not JSON). */
export interface RestResponse {
  status: number;
  json: unknown;
}

/**
 * JSON over one undici Pool with the SOAP transport's discipline: explicit timeouts, a response
 * size cap, and every body consumed or destroyed so no socket outlives a failed call.
 */
export class RestTransport {
  private readonly pool: Pool;
  private closed = false;

  constructor(private readonly opts: RestTransportOptions) {
    this.pool = new Pool(opts.origin, poolOptions(opts));
  }

  /** Sends `req`; any HTTP status is returned, only transport failures throw (as VsphereError). */
  async request(req: RestRequest): Promise<RestResponse> {
    const label = `${req.method} ${req.path.split('?')[0] ?? ''}`;
    if (this.closed) throw new VsphereError('VSPHERE_CLOSED', 'REST transport is closed', { method: label });
    try {
      req.signal?.throwIfAborted();
      return await this.send(req, label);
    } catch (e) {
      throw toVsphereError(e, label, req.signal);
    }
  }

  /** Closes all connections; in-flight requests fail with VSPHERE_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close().catch(() => this.pool.destroy());
  }

  private async send(req: RestRequest, label: string): Promise<RestResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.pool.request({
      path: req.path,
      method: req.method,
      headers,
      body: req.body === undefined ? null : JSON.stringify(req.body),
      signal: req.signal,
    });
    let consumed = false;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.opts.maxResponseBytes) {
          throw new VsphereError(
            'VSPHERE_RESPONSE_TOO_LARGE',
            `${label}: response over ${this.opts.maxResponseBytes} bytes`,
            { method: label },
          );
        }
        chunks.push(chunk);
      }
      consumed = true;
      return { status: res.statusCode, json: parseJson(Buffer.concat(chunks).toString('utf8')) };
    } finally {
      // Same as the SOAP transport: an unread body pins its socket; destroy it, swallowing the
      // RequestAbortedError that destroying an unfinished body emits.
      if (!consumed && !res.body.destroyed) {
        res.body.on('error', () => undefined);
        res.body.destroy();
      }
    }
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // An HTML error page from a reverse proxy: the status code tells the caller what happened.
    return undefined;
  }
}
