import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Secret } from '../../../src/config/secret.js';
import { createLogger, jsonToLogfmt, logfmtValue, silentLogger } from '../../../src/log/logger.js';

function capture(): { stream: Writable; lines: () => string[] } {
  let out = '';
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { stream, lines: () => out.split('\n').filter((l) => l !== '') };
}

const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

void describe('createLogger: logfmt', () => {
  void it('writes ts, level and msg first, then the fields', () => {
    const { stream, lines } = capture();
    createLogger({ level: 'info', format: 'logfmt' }, stream).info({ address: ':9272' }, 'listening');
    assert.match(lines()[0] ?? '', new RegExp(`^ts=${ISO} level=info msg=listening address=:9272$`));
  });

  void it('quotes and escapes only when needed and flattens nested objects', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'info', format: 'logfmt' }, stream);
    log.warn(
      { a: 'x=y', b: 'say "hi"', c: 'two\nlines', d: '', e: 'C:\\dir', n: 1.5, ok: false, nil: null },
      'hello world',
    );
    log.error({ err: new Error('boom bang') }, 'failed');
    const [first, second] = lines();
    assert.match(
      first ?? '',
      new RegExp(
        `^ts=${ISO} level=warn msg="hello world" a="x=y" b="say \\\\"hi\\\\"" c="two\\\\nlines" d="" e=C:\\\\dir n=1.5 ok=false nil=null$`,
      ),
    );
    assert.match(
      second ?? '',
      / level=error msg=failed err\.type=Error err\.message="boom bang" err\.stack="Error: boom bang\\n/,
    );
    assert.equal(lines().length, 2, 'a newline in a value must not split the record');
  });

  void it('filters by level', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'info', format: 'logfmt' }, stream);
    log.debug('hidden');
    log.info('shown');
    assert.deepEqual(
      lines().map((l) => l.replace(/^ts=\S+ /, '')),
      ['level=info msg=shown'],
    );
  });
});

void describe('createLogger: json', () => {
  void it('writes level as a label and an ISO time, without pid/hostname', () => {
    const { stream, lines } = capture();
    createLogger({ level: 'info', format: 'json' }, stream).info({ address: ':9272' }, 'listening');
    const rec = JSON.parse(lines()[0] ?? '') as Record<string, unknown>;
    assert.equal(rec.level, 'info');
    assert.match(String(rec.time), new RegExp(`^${ISO}$`));
    assert.equal(rec.msg, 'listening');
    assert.equal(rec.address, ':9272');
    assert.ok(!('pid' in rec) && !('hostname' in rec));
  });
});

void describe('createLogger: secrets', () => {
  for (const format of ['logfmt', 'json'] as const) {
    void it(`never writes credentials (${format})`, () => {
      const { stream, lines } = capture();
      const log = createLogger({ level: 'debug', format }, stream);
      log.debug(
        {
          secret: new Secret('SENTINEL-1'),
          password: 'SENTINEL-2',
          vsphere: { password: 'SENTINEL-3', user: 'ro' },
          headers: { cookie: 'vmware_soap_session=SENTINEL-4', authorization: 'Basic SENTINEL-5' },
          res: { headers: { 'set-cookie': 'vmware_soap_session=SENTINEL-6' } },
          soap: { op: 'Login', body: '<password>SENTINEL-7</password>' },
          cookie: 'SENTINEL-8',
          'set-cookie': 'SENTINEL-9',
        },
        'login with %s',
        new Secret('SENTINEL-10'),
      );
      const out = lines().join('\n');
      assert.ok(!out.includes('SENTINEL'), out);
      assert.ok(out.includes('<redacted>') && out.includes('<secret>'));
      assert.ok(out.includes('Login') && out.includes('ro'), 'non-secret fields are kept');
    });
  }
});

void describe('logfmt encoding', () => {
  void it('is unambiguous: one line, no bare separators, quoted values decode back (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (v) => {
        const enc = logfmtValue(v);
        // eslint-disable-next-line no-control-regex
        assert.ok(!/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(enc), 'no raw control characters');
        if (enc.startsWith('"')) assert.equal(JSON.parse(enc), v);
        else assert.ok(enc === v && !/[\s="]/.test(v) && v !== '');
      }),
    );
  });

  void it('passes through non-JSON input and sanitises keys', () => {
    assert.equal(jsonToLogfmt('not json\n'), 'not json\n');
    assert.equal(jsonToLogfmt('{"msg":"m","a b":{"c=d":1}}\n'), 'msg=m a_b.c_d=1\n');
    assert.equal(jsonToLogfmt('{"e":{},"l":[]}'), 'e={} l=[]\n');
  });
});

void describe('silentLogger', () => {
  void it('is silent', () => {
    const log = silentLogger();
    assert.equal(log.level, 'silent');
    log.error('nothing happens');
  });
});
