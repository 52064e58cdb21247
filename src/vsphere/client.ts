import type { Logger } from 'pino';
import type { MoRef, SoapBody } from './soap/envelope.js';
import { isVsphereError } from './errors.js';
import type { SoapTransport } from './soap/transport.js';
import type { StreamSpec, XmlNode } from './soap/xml.js';
import type { ServiceContent } from './service-content.js';
import type { Session } from './session.js';

/**
 * Authenticated vim25 calls: waits for the session, and on NotAuthenticated lets the session
 * recover (at most one re-login) and retries the call once.
 */
export class VimClient {
  constructor(
    readonly transport: SoapTransport,
    readonly session: Session,
    readonly logger: Logger,
    /** false: a NotAuthenticated answer is thrown as it is, without a session check or re-login. */
    private readonly recovers = true,
  ) {}

  /**
   * The same client without session recovery, for speculative reads started beside the inventory
   * read: when vCenter refuses everything, those concurrent calls must not add re-logins of their
   * own (their readers retry through a recovering client).
   */
  withoutRecovery(): VimClient {
    return new VimClient(this.transport, this.session, this.logger, false);
  }

  /** The ServiceContent of the current session (logging in if needed). */
  content(signal?: AbortSignal): Promise<ServiceContent> {
    return this.session.ensure(signal);
  }

  /** Calls `method` on `self` with an already serialised body. */
  async invoke(
    method: string,
    self: MoRef,
    body: SoapBody,
    signal?: AbortSignal,
    stream?: StreamSpec,
  ): Promise<XmlNode> {
    await this.session.ensure(signal);
    const generation = this.session.generation;
    try {
      return await this.transport.call(method, self, body, { signal, stream });
    } catch (e) {
      // A fault answer carries no streamed elements, so retrying cannot hand any over twice.
      if (!this.recovers || !isVsphereError(e, 'VSPHERE_NOT_AUTHENTICATED')) throw e;
      if (!(await this.session.recover(generation, signal))) throw e;
      return this.transport.call(method, self, body, { signal, stream });
    } finally {
      this.session.touch();
    }
  }
}
