import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { BasicAuth, MAX_BCRYPT_WAITING } from '../../../src/server/basic-auth.js';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

void describe('BasicAuth', async () => {
  const users = new Map([
    ['alice', bcrypt.hashSync('s3cret:with colon', 5)],
    ['bob', bcrypt.hashSync('other', 4)],
  ]);
  const auth = await BasicAuth.create(users);

  void it('accepts the right password (a colon in it included), then answers from the cache', async () => {
    const before = auth.bcryptCount;
    assert.deepEqual(await auth.check(basic('alice', 's3cret:with colon')), {
      ok: true,
      reason: 'verified',
      bcrypt: true,
    });
    assert.deepEqual(await auth.check(basic('alice', 's3cret:with colon')), {
      ok: true,
      reason: 'cached',
      bcrypt: false,
    });
    assert.equal(auth.bcryptCount, before + 1);
  });

  void it('runs exactly one bcrypt for a wrong password and for an unknown user alike', async () => {
    const before = auth.bcryptCount;
    assert.deepEqual(await auth.check(basic('alice', 'wrong')), {
      ok: false,
      reason: 'wrong-password',
      bcrypt: true,
    });
    assert.equal(auth.bcryptCount, before + 1);
    assert.deepEqual(await auth.check(basic('mallory', 'whatever')), {
      ok: false,
      reason: 'unknown-user',
      bcrypt: true,
    });
    assert.equal(auth.bcryptCount, before + 2);
    // Failures are never cached: the same wrong guess costs a bcrypt again.
    await auth.check(basic('alice', 'wrong'));
    assert.equal(auth.bcryptCount, before + 3);
  });

  void it('compares an unknown user with the configured hash of the highest cost, made by no bcrypt of its own', async () => {
    const slowHash = bcrypt.hashSync('p', 6);
    const compared: string[] = [];
    const mixed = await BasicAuth.create(
      new Map([
        ['fast', bcrypt.hashSync('q', 4)],
        ['slow', slowHash],
      ]),
      (password, hash) => (compared.push(hash), bcrypt.compare(password, hash)),
    );
    // Even with the slow user's own password, an unknown name is refused.
    assert.deepEqual(await mixed.check(basic('nobody', 'p')), {
      ok: false,
      reason: 'unknown-user',
      bcrypt: true,
    });
    assert.deepEqual(compared, [slowHash]);
  });

  void it('refuses missing or malformed credentials without a bcrypt', async () => {
    const before = auth.bcryptCount;
    for (const header of [
      undefined,
      '',
      'Bearer abc',
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('nocolon').toString('base64')}`,
    ]) {
      assert.deepEqual(
        await auth.check(header),
        { ok: false, reason: 'no-credentials', bcrypt: false },
        String(header),
      );
    }
    assert.equal(auth.bcryptCount, before);
  });

  void it('caches per password: another password of a cached user is checked again', async () => {
    await auth.check(basic('bob', 'other'));
    const before = auth.bcryptCount;
    assert.equal((await auth.check(basic('bob', 'other2'))).ok, false);
    assert.equal(auth.bcryptCount, before + 1);
  });

  void it('keeps the cache bounded and never keys it by the password itself', async () => {
    const many = await BasicAuth.create(new Map([['u', bcrypt.hashSync('pw', 4)]]));
    await many.check(basic('u', 'pw'));
    const cache = (many as unknown as { cache: Map<string, true> }).cache;
    assert.equal(cache.size, 1);
    const [key] = [...cache.keys()];
    assert.ok(!key?.includes('pw'), 'cache key holds the password');
    assert.match(key ?? '', /^u\0[0-9a-f]{64}$/);
  });

  void it('holds at most 100 successes, dropping the oldest', async () => {
    const salt = bcrypt.genSaltSync(4);
    const crowd = await BasicAuth.create(
      new Map(Array.from({ length: 120 }, (_, i) => [`u${i}`, bcrypt.hashSync(`p${i}`, salt)])),
    );
    for (let i = 0; i < 120; i++) assert.equal((await crowd.check(basic(`u${i}`, `p${i}`))).ok, true);
    const cache = (crowd as unknown as { cache: Map<string, true> }).cache;
    assert.equal(cache.size, 100);
    assert.equal((await crowd.check(basic('u119', 'p119'))).reason, 'cached');
    assert.equal((await crowd.check(basic('u0', 'p0'))).reason, 'verified');
  });
  void it('runs at most one bcrypt plus MAX_BCRYPT_WAITING queued; the rest are busy at once, without bcrypt', async () => {
    const before = auth.bcryptCount;
    const flood = Array.from({ length: 40 }, (_, i) => auth.check(basic('alice', `guess-${i}`)));
    // Checked while the flood is queued: no credentials and a cached login need no bcrypt at all.
    assert.equal((await auth.check(undefined)).reason, 'no-credentials');
    assert.equal((await auth.check(basic('alice', 's3cret:with colon'))).reason, 'cached');
    const outcomes = await Promise.all(flood);
    const busy = outcomes.filter((o) => o.reason === 'busy');
    assert.equal(busy.length, 40 - (MAX_BCRYPT_WAITING + 1));
    for (const o of busy) assert.deepEqual(o, { ok: false, reason: 'busy', bcrypt: false });
    assert.equal(auth.bcryptCount, before + MAX_BCRYPT_WAITING + 1);
    // Once the queue has drained, checks run again.
    assert.equal((await auth.check(basic('mallory', 'x'))).reason, 'unknown-user');
  });
});
