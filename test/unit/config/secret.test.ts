import assert from 'node:assert/strict';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import util from 'node:util';
import fc from 'fast-check';
import { Secret } from '../../../src/config/secret.js';

// Every generic way a value can end up in a log line or an error report.
function renderings(s: Secret): string[] {
  let consoleOut = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      consoleOut += chunk.toString();
      cb();
    },
  });
  const con = new Console({ stdout: sink, stderr: sink });
  con.log(s);
  con.log({ nested: { s } });
  con.log('%s %o %O %j', s, s, { s }, { s });
  con.dir({ s }, { depth: 10, showHidden: true });
  return [
    String(s),
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the point of the test
    `${s}`,
    'x' + String(s),
    s.toString(),
    JSON.stringify({ s }),
    JSON.stringify([s]),
    util.inspect(s),
    util.inspect({ a: { b: { s } } }, { depth: Infinity, showHidden: true }),
    util.format('%s %o %O %j %d', s, s, s, s, s),
    consoleOut,
    JSON.stringify(Object.entries(s)),
    JSON.stringify(structuredClone({ s })),
  ];
}

void describe('Secret', () => {
  void it('reveals the value only through reveal()', () => {
    const s = new Secret('hunter2-SENTINEL');
    assert.equal(s.reveal(), 'hunter2-SENTINEL');
    for (const r of renderings(s)) assert.ok(!r.includes('SENTINEL'), r);
  });

  void it('renders as <secret>', () => {
    const s = new Secret('pw');
    assert.equal(String(s), '<secret>');
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the point of the test
    assert.equal(`${s}`, '<secret>');
    assert.equal(JSON.stringify({ s }), '{"s":"<secret>"}');
    assert.equal(util.inspect(s), '<secret>');
    assert.deepEqual(Object.keys(s), []);
  });

  void it('never leaks any value (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (tail) => {
        const s = new Secret(`SENTINEL${tail}`);
        assert.equal(s.reveal(), `SENTINEL${tail}`);
        for (const r of renderings(s)) assert.ok(!r.includes('SENTINEL'));
      }),
      { numRuns: 50 },
    );
  });
});
