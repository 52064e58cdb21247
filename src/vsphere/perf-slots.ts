import { waitFor } from './waits.js';

/**
 * A counting semaphore: at most `limit` holders at once, waiters served in order. A holder may give
 * its slot back before it is done (a QueryPerf answer that has arrived but is still being parsed).
 */
export class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /**
   * Runs `fn` holding a slot, which `fn` may give back early with the `release` it is passed; a
   * wait for the slot ends with VSPHERE_ABORTED when `signal` fires.
   */
  async run<T>(fn: (release: () => void) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (this.used < this.limit) {
      this.used++;
    } else {
      let granted = false;
      let wake!: () => void;
      const turn = new Promise<void>((resolve) => {
        wake = () => {
          granted = true;
          resolve();
        };
      });
      this.waiting.push(wake);
      try {
        await waitFor(turn, signal, 'waiting for a QueryPerf slot');
      } catch (e) {
        // Still queued: leave the queue. Already handed a slot: pass it on.
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        else if (granted) this.release();
        throw e;
      }
    }
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      this.release();
    };
    try {
      return await fn(release);
    } finally {
      release();
    }
  }

  private release(): void {
    const wake = this.waiting.shift();
    if (wake) wake();
    else this.used--;
  }
}
