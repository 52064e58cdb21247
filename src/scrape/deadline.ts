/** Scrape timing settings. */
export interface DeadlineConfig {
  /** Deadline of a scrape that carries no timeout header (scrape.timeout_seconds). */
  timeoutSeconds: number;
  /** Head room subtracted from Prometheus' timeout so our answer arrives before it gives up. */
  timeoutOffsetSeconds: number;
  /** Safety cap on any scrape's deadline, header or not (scrape.max_timeout_seconds). */
  maxTimeoutSeconds: number;
}

/** A scrape's deadline and, for logs and the status page, where it came from. */
export interface Budget {
  seconds: number;
  source: string;
}

// Below this a collection cannot even log in; answering with vsphere_up 0 at once is more honest.
const MIN_SECONDS = 0.1;

const HEADER = 'X-Prometheus-Scrape-Timeout-Seconds';

const fmt = (n: number): string => String(Number(n.toFixed(3)));

/**
 * Time budget of one scrape: `X-Prometheus-Scrape-Timeout-Seconds` minus the offset (the
 * operator's stated budget, blackbox_exporter style) under `maxTimeoutSeconds`; without a usable
 * header, `timeoutSeconds`.
 */
export function collectionBudget(header: string | string[] | undefined, cfg: DeadlineConfig): Budget {
  const raw = Array.isArray(header) ? header[0] : header;
  const fromHeader = raw === undefined ? Number.NaN : Number.parseFloat(raw);
  let seconds: number;
  let source: string;
  if (Number.isFinite(fromHeader) && fromHeader > 0) {
    const wanted = fromHeader - cfg.timeoutOffsetSeconds;
    const told = `${HEADER} ${fmt(fromHeader)} minus scrape.timeout_offset_seconds ${fmt(cfg.timeoutOffsetSeconds)}`;
    if (wanted > cfg.maxTimeoutSeconds) {
      seconds = cfg.maxTimeoutSeconds;
      source = `scrape.max_timeout_seconds; ${told} is above it`;
    } else {
      seconds = wanted;
      source = told;
    }
  } else {
    seconds = Math.min(cfg.timeoutSeconds, cfg.maxTimeoutSeconds);
    // The header's text is the client's: not echoed into logs and metrics, only that it was unusable.
    const what = raw === undefined ? `no ${HEADER} header` : `${HEADER} not a number > 0`;
    source = `scrape.timeout_seconds; ${what}`;
  }
  if (seconds < MIN_SECONDS)
    return { seconds: MIN_SECONDS, source: `${source}; raised to the ${MIN_SECONDS} s minimum` };
  return { seconds, source };
}
