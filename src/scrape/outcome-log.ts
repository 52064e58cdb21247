import type { Logger } from 'pino';
import { errorReason } from '../vsphere/errors.js';
import { describe } from '../vsphere/session.js';

const LOADING = 'VSPHERE_INVENTORY_LOADING';

/**
 * Logs a target's collection outcomes one line per change of state (failing, loading, reachable
 * again), not one per failed scrape while vCenter is down.
 */
export class OutcomeLog {
  private lastErrorCode: string | undefined;

  constructor(private readonly logger: Logger) {}

  /** Notes one collection's outcome: why it failed, or undefined when vCenter answered it. */
  note(error: unknown): void {
    const code = error === undefined ? undefined : errorReason(error);
    if (code !== this.lastErrorCode) {
      if (code === LOADING)
        this.logger.info(
          { reason: error instanceof Error ? error.message : String(error) },
          'inventory still loading in the background; scrapes answer vsphere_up 0 until it is read',
        );
      else if (this.lastErrorCode === LOADING && !code) this.logger.info('inventory loaded');
      else if (code)
        this.logger.warn({ error: describe(error) }, 'collection failed: vCenter unreachable or refusing');
      else if (this.lastErrorCode) this.logger.info('vCenter reachable again');
    }
    this.lastErrorCode = code;
  }
}
