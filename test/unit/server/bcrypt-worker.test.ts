import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { BcryptWorker } from '../../../src/server/bcrypt-worker.js';

void describe('BcryptWorker', () => {
  const hash = bcrypt.hashSync('s3cret', 10);

  void it('compares like bcryptjs, a malformed hash is a mismatch, and close() ends it', async () => {
    const worker = new BcryptWorker();
    try {
      assert.equal(await worker.compare('s3cret', hash), true);
      assert.equal(await worker.compare('wrong', hash), false);
      assert.equal(await worker.compare('s3cret', 'not a hash'), false);
    } finally {
      await worker.close();
    }
    await assert.rejects(worker.compare('s3cret', hash), /closed/);
  });

  void it('keeps the event loop turning while it works', async () => {
    const worker = new BcryptWorker();
    try {
      await worker.compare('warm-up', hash);
      let turns = 0;
      let running = true;
      const turn = (): void => {
        turns++;
        if (running) setImmediate(turn);
      };
      const t0 = performance.now();
      setImmediate(turn);
      await Promise.all([0, 1, 2, 3].map((i) => worker.compare(`guess-${i}`, hash)));
      running = false;
      const ms = performance.now() - t0;
      // bcryptjs in this thread yields once per 100 ms slice: at most ms / 100 turns. Ask for 10 times that.
      assert.ok(turns > ms / 10, `${turns} loop turns in ${ms.toFixed(0)} ms`);
    } finally {
      await worker.close();
    }
  });
});
