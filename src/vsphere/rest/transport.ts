import { poolOptions, type ConnectionOptions } from '../pool-options.js';
import { Pool } from 'undici';
import { VsphereError } from '../errors.js';
import { toVsphereError } from '../http-errors.js';
import { readBody } from '../body-reader.js';

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
 * JSON over one undici Pool with the SOAP transport's discipline: explicit timeouts, and the one
 * body reader (size cap, every body consumed or destroyed so no socket outlives a failed call).
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
    const chunks: Buffer[] = [];
    await readBody(res.body, {
      label,
      maxBytes: this.opts.maxResponseBytes,
      signal: req.signal,
      onChunk: (chunk) => chunks.push(chunk),
    });
    return { status: res.statusCode, json: parseJson(Buffer.concat(chunks).toString('utf8')) };
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
