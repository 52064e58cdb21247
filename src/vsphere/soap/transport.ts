import type { Logger } from 'pino';
import { poolOptions, type ConnectionOptions } from '../pool-options.js';
import { Pool } from 'undici';
import { VsphereError } from '../errors.js';
import { explainTls } from '../tls-explain.js';
import type { CertificateInfo } from '../certificate-info.js';
import { toVsphereError } from '../http-errors.js';
import { faultToError } from './faults.js';
import { envelope, type MoRef, type SoapBody } from './envelope.js';
import { child, SoapXmlParser, type StreamSpec, type XmlNode } from './xml.js';
import { xmlLimits, type XmlLimits } from './xml-limits.js';
import { discardBody, readBody } from '../body-reader.js';

/** How to reach one vCenter: endpoint, TLS and the limits that keep a bad server from hurting us. */
export interface TransportOptions extends ConnectionOptions {
  url: URL;
  /** Called once per SOAP call with its outcome ("success" or an error code) and duration. */
  onCall?: (method: string, outcome: string, seconds: number) => void;
  /** Told what an answer had that was read leniently (characters XML forbids). */
  logger?: Pick<Logger, 'warn'>;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Login responses carry the new session cookie. */
  captureCookie?: boolean;
  /** Given the answer's Set-Cookie lines as soon as its headers arrive (before the body is read). */
  onSetCookie?: (lines: string[]) => void;
  /** Sent instead of the held session cookie (ending a session whose cookie was not kept). */
  cookie?: string;
  /** Elements handed over as they close (see StreamSpec); they are not in the returned tree. */
  stream?: StreamSpec;
}

/** Name of vCenter's SOAP session cookie. */
export const COOKIE_NAME = 'vmware_soap_session';

/**
 * SOAP over one undici Pool: bounded keep-alive connections, explicit timeouts, a response size cap,
 * and every body consumed or destroyed, so no socket outlives a failed call.
 */
export class SoapTransport {
  /** SOAPAction version (`urn:vim25/<apiVersion>`); empty until negotiated. */
  apiVersion = '';
  private cookie: string | undefined;
  private readonly pool: Pool;
  private readonly path: string;
  private closed = false;
  private readonly limits: XmlLimits;
  private peer: CertificateInfo | undefined;

  constructor(private readonly opts: TransportOptions) {
    this.path = opts.url.pathname;
    this.limits = xmlLimits(opts.maxResponseBytes);
    // undici's own size cap is per pool: set to the streamed bound, the answers read whole are
    // capped at max_response_bytes by send() itself.
    this.pool = new Pool(opts.url.origin, {
      ...poolOptions({
        ...opts,
        onPeerCertificate: (cert) => {
          this.peer = cert;
        },
      }),
      // (a margin above it, so that send() names the bound that was crossed)
      maxResponseSize: this.limits.maxStreamedBytes + 1024 * 1024,
    });
  }

  /** The certificate vCenter presented on the latest TLS connection (undefined for http:// or before one). */
  get peerCertificate(): CertificateInfo | undefined {
    return this.peer;
  }

  /** True while a session cookie is held. */
  get hasSession(): boolean {
    return this.cookie !== undefined;
  }

  /** Forgets the session cookie (after Logout, or before a fresh Login). */
  clearSession(): void {
    this.cookie = undefined;
  }

  /** Sends `method` to `self` and returns the `<methodResponse>` element. */
  async call(method: string, self: MoRef, body: SoapBody, options: CallOptions = {}): Promise<XmlNode> {
    const started = process.hrtime.bigint();
    let outcome = 'success';
    try {
      return await this.send(method, self, body, options);
    } catch (e) {
      let err = toVsphereError(e, method, options.signal);
      // Name the certificate vCenter presented and the ca_file tried: "set ca_file" alone misleads
      // when one is set.
      if (err.code === 'VSPHERE_TLS') err = await explainTls(err, this.opts, options.signal);
      outcome = err.code;
      throw err;
    } finally {
      this.opts.onCall?.(method, outcome, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** Closes all connections; in-flight calls fail with VSPHERE_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close().catch(() => this.pool.destroy());
  }

  private async send(method: string, self: MoRef, body: SoapBody, options: CallOptions): Promise<XmlNode> {
    if (this.closed) throw new VsphereError('VSPHERE_CLOSED', 'transport is closed', { method });
    options.signal?.throwIfAborted();
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      soapaction: this.apiVersion ? `urn:vim25/${this.apiVersion}` : 'urn:vim25',
    };
    const cookie = options.cookie ?? this.cookie;
    if (cookie) headers.cookie = cookie;
    const res = await this.pool.request({
      path: this.path,
      method: 'POST',
      headers,
      body: envelope(method, self, body),
      signal: options.signal,
    });
    options.onSetCookie?.(setCookieLines(res.headers['set-cookie']));
    let consumed = false;
    try {
      const type = String(res.headers['content-type'] ?? '');
      // vCenter answers faults with 500 + XML; anything else non-200 (HTML 503 while vpxd restarts) is HTTP-level.
      if ((res.statusCode !== 200 && res.statusCode !== 500) || !/xml/i.test(type)) {
        throw new VsphereError(
          'VSPHERE_HTTP_STATUS',
          `${method}: HTTP ${res.statusCode} (${type.split(';')[0] || 'no content type'}) from vCenter`,
          { statusCode: res.statusCode, method },
        );
      }
      const parser = new SoapXmlParser(options.stream, this.limits);
      // A streamed answer is held one element at a time (the parser bounds each element and the
      // rest at max_response_bytes), so an inventory that fits is not refused for its total:
      // vcsim 0.24 sends a whole first WaitForUpdatesEx at once, ignoring maxObjectUpdates.
      const cap = options.stream ? this.limits.maxStreamedBytes : this.opts.maxResponseBytes;
      await readBody(res.body, {
        label: method,
        maxBytes: cap,
        ...(options.stream ? { capText: `${cap} bytes in all (streamed)` } : {}),
        signal: options.signal,
        onChunk: (chunk) => parser.write(chunk),
        onReceived: options.stream?.onReceived,
      });
      consumed = true;
      const env = parser.close();
      this.reportReplacements(method, parser);
      const soapBody = child(env, 'Body');
      const first = soapBody?.children[0];
      if (!soapBody || !first)
        throw new VsphereError('VSPHERE_BAD_RESPONSE', `${method}: SOAP response without a Body`, { method });
      if (first.name === 'Fault') throw faultToError(first, method, (t) => this.scrubText(t));
      if (res.statusCode !== 200) {
        throw new VsphereError(
          'VSPHERE_HTTP_STATUS',
          `${method}: HTTP ${res.statusCode} without a SOAP fault`,
          { statusCode: res.statusCode, method },
        );
      }
      if (options.captureCookie) this.captureCookie(res.headers['set-cookie']);
      return first;
    } finally {
      // readBody destroys a body it did not finish; this covers the refusals before it was read.
      if (!consumed) discardBody(res.body);
    }
  }

  private reportReplacements(method: string, parser: SoapXmlParser): void {
    const r = parser.replacements;
    if (r.count === 0) return;
    this.opts.logger?.warn(
      { method, count: r.count, replaced: r.refs },
      'answer had character references XML 1.0 forbids; each was read as U+FFFD, the objects kept',
    );
  }

  /** Text from vCenter as it may be kept in an error; a subclass removes secrets from it. */
  protected scrubText(text: string): string {
    return text;
  }

  /** Told the value of each session cookie the transport keeps; a subclass treats it as a secret. */
  protected heldCookie(_value: string): void {}

  private captureCookie(header: string | string[] | undefined): void {
    for (const line of setCookieLines(header)) {
      const pair = line.split(';', 1)[0]?.trim();
      if (!pair?.startsWith(`${COOKIE_NAME}=`)) continue;
      this.cookie = pair;
      this.heldCookie(pair.slice(COOKIE_NAME.length + 1));
    }
  }
}

function setCookieLines(header: string | string[] | undefined): string[] {
  return Array.isArray(header) ? header : header ? [header] : [];
}
