import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerClock } from '../../../src/vsphere/server-clock.js';
import type { VimClient } from '../../../src/vsphere/client.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';

/** A vCenter whose clock is `skewSeconds` off ours; `fail` makes CurrentTime fault. */
function vcenter(skewSeconds: number) {
  const state = { calls: 0, fail: false, session: { generation: 1 } };
  const client = {
    session: state.session,
    invoke: (method: string) => {
      assert.equal(method, 'CurrentTime');
      state.calls++;
      if (state.fail) return Promise.reject(new VsphereError('VSPHERE_CONNECTION', 'reset'));
      const t = new Date(Date.now() + skewSeconds * 1000).toISOString();
      return Promise.resolve(
        parseXml(`<CurrentTimeResponse><returnval>${t}</returnval></CurrentTimeResponse>`),
      );
    },
  } as unknown as VimClient;
  return { client, state };
}

test("vCenter's clock 20 min behind ours: now() is vCenter's time, read once per session", async () => {
  const { client, state } = vcenter(-1200);
  const clock = new ServerClock(client);
  for (let i = 0; i < 3; i++) {
    const off = (await clock.now()) - Date.now() / 1000;
    assert.ok(Math.abs(off + 1200) < 5, `offset ${off.toFixed(1)} s`);
  }
  assert.equal(state.calls, 1, 'one CurrentTime for the session');
  state.session.generation = 2;
  await clock.now();
  assert.equal(state.calls, 2, 'a new session reads the clock again');
});

test('a failed CurrentTime gives the local time and is asked again next time', async () => {
  const { client, state } = vcenter(3600);
  const clock = new ServerClock(client);
  state.fail = true;
  const local = (await clock.now()) - Date.now() / 1000;
  assert.ok(Math.abs(local) < 5, `offset ${local.toFixed(1)} s`);
  state.fail = false;
  const ahead = (await clock.now()) - Date.now() / 1000;
  assert.ok(Math.abs(ahead - 3600) < 5, `offset ${ahead.toFixed(1)} s`);
  assert.equal(state.calls, 2);
});
