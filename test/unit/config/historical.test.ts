import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BASE_ENV, fails, run, TempDir } from './helpers.js';

const tmp = new TempDir();
const write = tmp.write.bind(tmp);
let env: Record<string, string> = {};
before(() => {
  env = { ...BASE_ENV, VSPHERE_PASSWORD_FILE: write('pw', 'hunter2\n') };
});

void describe('historical.enabled', () => {
  void it('is off by default', async () => {
    assert.equal((await run([], env)).options.historical, false);
    const empty = write('empty.yml', 'historical: {}\n');
    assert.equal((await run(['--config.file', empty], env)).options.historical, false);
  });

  void it('turns the historical counters on', async () => {
    const file = write('on.yml', 'historical:\n  enabled: true\n');
    const c = await run(['--config.file', file], env);
    assert.equal(c.options.historical, true);
    assert.deepEqual(c.options.vm, {
      snapshotTimestamps: false,
      instanceMetrics: false,
      extraCounters: [],
      datastoreUsage: false,
      health: false,
    });
  });

  void it('rejects a non-boolean and unknown keys, naming them', async () => {
    await fails(
      ['--config.file', write('bad.yml', 'historical:\n  enabled: yes please\n')],
      env,
      /historical\.enabled.*expected true or false/,
    );
    await fails(
      ['--config.file', write('unknown.yml', 'historical:\n  interval: 300\n')],
      env,
      /historical\.interval/,
    );
    await fails(
      ['--config.file', write('list.yml', 'historical: [true]\n')],
      env,
      /historical.*expected a mapping/,
    );
  });
});
