import type { VimClient } from './client.js';
import { VsphereError } from './errors.js';
import { SERVICE_INSTANCE } from './service-content.js';
import { child } from './soap/xml.js';

// vCenter's clock may be stepped by its own NTP; read again after this long even in one session.
const REREAD_MS = 3_600_000;

/** vCenter's time at one moment of the monotonic clock. */
interface Reading {
  generation: number;
  /** performance.now() when it was asked for. */
  at: number;
  /** vCenter's time then, in Unix ms (a promise: concurrent collections share one call). */
  serverMs: Promise<number>;
}

/**
 * vCenter's clock as seen from here: read with CurrentTime once per session (and hourly) and carried
 * forward by the monotonic clock, so neither a local clock minutes off nor one stepped later counts.
 * Historical samples carry vCenter's timestamps: judged by the local clock, a skew of minutes would
 * make every 5-minute sample look too old, or ask for samples from vCenter's future.
 */
export class ServerClock {
  private reading: Reading | undefined;

  constructor(private readonly client: Pick<VimClient, 'invoke' | 'session'>) {}

  /** vCenter's time now, in Unix seconds; the local time when CurrentTime fails (asked again next time). */
  async now(signal?: AbortSignal): Promise<number> {
    const generation = this.client.session.generation;
    let r = this.reading;
    if (r?.generation !== generation || performance.now() - r.at > REREAD_MS) {
      const read: Reading = { generation, at: performance.now(), serverMs: this.read(signal) };
      this.reading = r = read;
      read.serverMs.catch(() => {
        if (this.reading === read) this.reading = undefined;
      });
    }
    const serverMs = await r.serverMs.catch(() => undefined);
    if (serverMs === undefined) return Date.now() / 1000;
    return (serverMs + performance.now() - r.at) / 1000;
  }

  /** vCenter's time at the middle of a CurrentTime call, as of its start (Unix ms). */
  private async read(signal?: AbortSignal): Promise<number> {
    const sent = performance.now();
    const server = Date.parse(await currentTime(this.client, signal));
    return server - (performance.now() - sent) / 2;
  }
}

/** vCenter's time now as it spells it (ISO 8601), read with CurrentTime. */
export async function currentTime(client: Pick<VimClient, 'invoke'>, signal?: AbortSignal): Promise<string> {
  const res = await client.invoke('CurrentTime', SERVICE_INSTANCE, '', signal);
  const t = child(res, 'returnval')?.text;
  if (!t || !Number.isFinite(Date.parse(t)))
    throw new VsphereError('VSPHERE_BAD_RESPONSE', 'CurrentTime: no time returned');
  return t;
}
