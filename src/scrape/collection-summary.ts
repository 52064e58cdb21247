/** One collector's outcome in a collection. */
export interface CollectorOutcome {
  name: string;
  ok: boolean;
  /** Absent when the collector did not run (vCenter unreachable before collectors started). */
  seconds?: number;
}

/** What the status page shows of a target's last collection, recorded by the scraper when it ends. */
export interface CollectionSummary {
  up: boolean;
  durationSeconds: number;
  /** The deadline it had (seconds from its start) and where that came from. */
  deadline?: { seconds: number; source: string };
  /** When the collection finished (Date.now()). */
  finishedAt: number;
  /** Samples in the collection's output, the exporter's own health families included. */
  samples: number;
  /** Why vCenter could not be reached; present only when `up` is false. */
  error?: { code: string; message: string };
  collectors: CollectorOutcome[];
}
