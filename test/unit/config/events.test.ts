import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BASE_ENV, fails, run, TempDir } from './helpers.js';

const tmp = new TempDir();
const write = tmp.write.bind(tmp);
let env: Record<string, string> = {};
before(() => {
  env = { ...BASE_ENV, VSPHERE_PASSWORD_FILE: write('pw', 'hunter2\n') };
});

void describe('collectors.events and the events section', () => {
  void it('the collector is off by default; --collector.events and collectors.events turn it on', async () => {
    assert.equal((await run([], env)).collectors.events, false);
    assert.equal((await run(['--collector.events'], env)).collectors.events, true);
    const file = write('on.yml', 'collectors:\n  events: true\n');
    assert.equal((await run(['--config.file', file], env)).collectors.events, true);
  });

  void it('defaults: every type, 200 distinct types', async () => {
    assert.deepEqual((await run([], env)).options.events, { include: [], exclude: [], maxTypes: 200 });
  });

  void it('takes include/exclude regexes and max_types', async () => {
    const file = write(
      'events.yml',
      'events:\n  include: ["Host.*Event", "com\\\\.vmware\\\\.vc\\\\.ha\\\\..*"]\n  exclude: [UserLoginSessionEvent]\n  max_types: 50\n',
    );
    assert.deepEqual((await run(['--config.file', file], env)).options.events, {
      include: ['Host.*Event', String.raw`com\.vmware\.vc\.ha\..*`],
      exclude: ['UserLoginSessionEvent'],
      maxTypes: 50,
    });
  });

  void it('rejects a regex that does not compile, a bad max_types and unknown keys, naming them', async () => {
    await fails(
      ['--config.file', write('bad-re.yml', 'events:\n  exclude: ["Vm(Powered"]\n')],
      env,
      /events\.exclude\.0.*not a valid regular expression/,
    );
    await fails(
      ['--config.file', write('bad-max.yml', 'events:\n  max_types: 0\n')],
      env,
      /events\.max_types.*between 1 and 10000/,
    );
    await fails(['--config.file', write('unknown.yml', 'events:\n  types: [A]\n')], env, /events\.types/);
  });
});
