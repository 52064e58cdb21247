/** Scrape timing settings. */
export interface DeadlineConfig {
  /** Upper bound for one collection, also used when Prometheus sends no timeout header. */
  timeoutSeconds: number;
  /** Head room subtracted from Prometheus' timeout so our answer arrives before it gives up. */
  timeoutOffsetSeconds: number;
}

// Below this a collection cannot even log in; answering with vsphere_up 0 at once is more honest.
const MIN_SECONDS = 0.1;

/**
 * Time budget of one collection: `X-Prometheus-Scrape-Timeout-Seconds` minus the offset
 * (blackbox_exporter style), capped by the configured timeout.
 */
export function collectionBudgetSeconds(header: string | string[] | undefined, cfg: DeadlineConfig): number {
  const raw = Array.isArray(header) ? header[0] : header;
  const fromHeader = raw === undefined ? Number.NaN : Number.parseFloat(raw);
  let budget = cfg.timeoutSeconds;
  if (Number.isFinite(fromHeader) && fromHeader > 0)
    budget = Math.min(budget, fromHeader - cfg.timeoutOffsetSeconds);
  return Math.max(MIN_SECONDS, budget);
}
