import type { Logger } from 'pino';
import type { MoRef, XmlNode } from './answer-data.js';
import { child } from './answer-data.js';
import type { VimClient } from './client.js';
import { assignmentId, keySuffix } from './license-key.js';
import { isVsphereError } from './errors.js';

// Licences are assigned by hand and rarely: one read per interval is plenty, and a scrape in between costs nothing.
const INTERVAL_MS = 5 * 60_000;
// A failed read (a refused privilege, vCenter busy) is tried again sooner than a good one is refreshed.
const RETRY_MS = 60_000;

/** Assets per licence: `JSON.stringify([keySuffix, editionKey])` → count (the full key is never kept). */
export type AssignedCounts = ReadonlyMap<string, number>;

/** What a collector asks (injected into its context, like ctx.perf). */
export interface LicenseAssignmentSource {
  /** Assets per licence from LicenseAssignmentManager `manager`; undefined when never read successfully. Never throws. */
  counts(manager: MoRef, signal?: AbortSignal): Promise<AssignedCounts | undefined>;
}

/** One LicenseAssignmentManagerLicenseAssignment → its licence's id, decoded as it streams by. */
function countOne(node: XmlNode, into: Map<string, number>): void {
  const lic = child(node, 'assignedLicense');
  if (!lic) return;
  const text = (name: string): string => child(lic, name)?.text.trim() ?? '';
  const id = assignmentId(keySuffix(text('licenseKey')), text('editionKey'));
  into.set(id, (into.get(id) ?? 0) + 1);
}

/**
 * LicenseAssignmentManager.QueryAssignedLicenses, read at most once per interval (5 min) whatever
 * the scrape rate, the answer streamed one assignment at a time (each carries its licence's whole
 * feature list) and reduced to counts per key suffix: no full key is kept. Creates nothing on the
 * server, so there is nothing to destroy at logout.
 */
export class LicenseAssignments implements LicenseAssignmentSource {
  private last: AssignedCounts | undefined;
  private nextAt = 0;
  private inflight: Promise<AssignedCounts | undefined> | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly client: VimClient,
    private readonly logger: Logger,
    private readonly intervalMs = INTERVAL_MS,
    private readonly retryMs = RETRY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  counts(manager: MoRef, signal?: AbortSignal): Promise<AssignedCounts | undefined> {
    if (this.now() < this.nextAt) return Promise.resolve(this.last);
    this.inflight ??= this.read(manager, signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async read(manager: MoRef, signal?: AbortSignal): Promise<AssignedCounts | undefined> {
    const counts = new Map<string, number>();
    try {
      await this.client.invoke('QueryAssignedLicenses', manager, '', signal, {
        depth: 3,
        name: 'returnval',
        onElement: (node) => countOne(node, counts),
      });
      this.last = counts;
      this.nextAt = this.now() + this.intervalMs;
      this.lastError = undefined;
    } catch (e) {
      // An aborted scrape is not a failed read: the next collection asks again.
      if (signal?.aborted) return this.last;
      // A LicenseAssignmentManager the endpoint names but does not have is asked again only once
      // per interval, and said at debug level; anything else is retried sooner and said as a warning.
      const absent = isVsphereError(e, 'VSPHERE_MANAGED_OBJECT_NOT_FOUND');
      this.nextAt = this.now() + (absent ? this.intervalMs : this.retryMs);
      // Said once per cause, not once per retry; the message never holds a key (the answer's
      // fault text is scrubbed by the transport and no key is sent in the request).
      const message = e instanceof Error ? e.message : String(e);
      if (message !== this.lastError)
        this.logger[absent ? 'debug' : 'warn'](
          { error: message },
          'QueryAssignedLicenses failed; assigned assets are not counted',
        );
      this.lastError = message;
    }
    return this.last;
  }
}
