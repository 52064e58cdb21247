import type { Logger } from 'pino';
import { VsphereError } from './errors.js';
import type { SoapTransport } from './soap/transport.js';
import { SERVICE_INSTANCE } from './service-content.js';

/**
 * Keeps an idle session alive: a CurrentTime call once nothing used the session for `intervalMs`,
 * so vCenter's idle timeout does not end it between scrapes.
 */
export class Keepalive {
  private timer: NodeJS.Timeout | undefined;
  private lastUse = 0;

  constructor(
    private readonly transport: SoapTransport,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Records activity: the keepalive stays quiet while scrapes keep the session busy. */
  touch(): void {
    this.lastUse = this.now();
  }

  /** Starts (or restarts) the timer; `active` says whether a session is there to keep. */
  start(active: () => boolean): void {
    this.stop();
    const interval = this.intervalMs;
    this.timer = setInterval(
      () => {
        if (!active() || this.now() - this.lastUse < interval) return;
        // CurrentTime is the cheapest call that refreshes vCenter's idle timer for our session.
        this.transport
          .call('CurrentTime', SERVICE_INSTANCE, '', {
            signal: AbortSignal.timeout(Math.min(interval, 30_000)),
          })
          .then(() => this.touch())
          .catch((e: unknown) => this.logger.warn({ error: describe(e) }, 'vCenter keepalive failed'));
      },
      Math.max(1000, Math.floor(interval / 2)),
    );
    this.timer.unref();
  }

  /** Stops the timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Message and code of an error, safe to log (never carries a request body). */
export function describe(e: unknown): { code?: string; message: string } {
  if (e instanceof VsphereError) return { code: e.code, message: e.message };
  return { message: e instanceof Error ? e.message : String(e) };
}
