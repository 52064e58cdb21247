import type { VimClient } from './client.js';
import { VsphereError } from './errors.js';
import { SERVICE_INSTANCE } from './service-content.js';
import { child } from './soap/xml.js';

/**
 * vCenter's clock as seen from here: read with CurrentTime once per session and kept as an offset
 * to the local clock. Historical samples carry vCenter's timestamps; judged by a local clock that is
 * minutes off, every 5-minute sample looked too old (or was asked for from vCenter's future).
 */
export class ServerClock {
  private offset: { generation: number; seconds: Promise<number> } | undefined;

  constructor(private readonly client: Pick<VimClient, 'invoke' | 'session'>) {}

  /** vCenter's time now, in Unix seconds; the local time when CurrentTime fails (asked again next time). */
  async now(signal?: AbortSignal): Promise<number> {
    const generation = this.client.session.generation;
    if (this.offset?.generation !== generation) {
      const seconds = this.read(signal);
      this.offset = { generation, seconds };
      seconds.catch(() => {
        if (this.offset?.seconds === seconds) this.offset = undefined;
      });
    }
    const offset = await this.offset.seconds.catch(() => 0);
    return Date.now() / 1000 + offset;
  }

  /** Unix seconds vCenter's clock is ahead of ours, taken at the middle of the call. */
  private async read(signal?: AbortSignal): Promise<number> {
    const sent = Date.now();
    const res = await this.client.invoke('CurrentTime', SERVICE_INSTANCE, '', signal);
    const received = Date.now();
    const server = Date.parse(child(res, 'returnval')?.text ?? '');
    if (!Number.isFinite(server))
      throw new VsphereError('VSPHERE_BAD_RESPONSE', 'CurrentTime: no time returned');
    return (server - (sent + received) / 2) / 1000;
  }
}
