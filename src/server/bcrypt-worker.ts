import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// bcryptjs in the main thread blocks the event loop for up to 100 ms per slice, and Node accepts one
// connection per loop turn: a wrong-password flood then slowed every other request to ~10/s.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
parentPort.on('message', ({ id, password, hash }) => {
  let ok = false;
  try { ok = bcrypt.compareSync(password, hash); } catch { ok = false; }
  parentPort.postMessage({ id, ok });
});
`;

interface Reply {
  id: number;
  ok: boolean;
}

/** bcrypt comparisons in one worker thread, started on first use; close() ends it. */
export class BcryptWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (ok: boolean) => void; reject: (e: Error) => void }
  >();
  private closed = false;

  /** Whether `password` matches the bcrypt `hash`; comparisons run one after another in the worker. */
  compare(password: string, hash: string): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('bcrypt worker closed'));
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, password, hash });
    });
  }

  /** Stops the worker; comparisons still waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new Error('bcrypt worker closed'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    const bcryptjs = createRequire(import.meta.url).resolve('bcryptjs');
    const worker = new Worker(SOURCE, { eval: true, workerData: { bcryptjs } });
    // An idle worker must not keep the process alive; shutdown closes it anyway.
    worker.unref();
    worker.on('message', ({ id, ok }: Reply) => {
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      w?.resolve(ok);
    });
    const gone = (e: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(e);
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`bcrypt worker exited (code ${code})`)));
    return worker;
  }

  private failAll(e: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(e);
  }
}
