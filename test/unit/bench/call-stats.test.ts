import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callsByMethod, callTimesByMethod, peakInFlight } from '../../../bench/call-stats.js';
import type { ProxyRecord } from '../../../bench/counting-proxy.js';

let seq = 0;
function rec(method: string, startedAt: number, endedAt: number): ProxyRecord {
  return {
    seq: seq++,
    method,
    requestBytes: 1,
    responseBytes: 1,
    status: 200,
    startedAt,
    endedAt,
    fullInventory: false,
  };
}

void describe('call statistics', () => {
  const recs = [
    rec('WaitForUpdatesEx', 0, 100),
    rec('QueryPerf', 100, 200), // starts as the previous ends: not at once
    rec('QueryPerf', 110, 230),
    rec('QueryPerf', 120, 150),
    rec('QueryPerf', 200, 300),
    rec('RetrievePropertiesEx', 0, 0), // never answered
  ];

  it('counts calls by method, unanswered ones included', () => {
    assert.deepEqual(callsByMethod(recs), { QueryPerf: 4, RetrievePropertiesEx: 1, WaitForUpdatesEx: 1 });
  });

  it('times answered calls by method', () => {
    assert.deepEqual(callTimesByMethod(recs), {
      QueryPerf: { count: 4, medianMs: 100, minMs: 30, maxMs: 120 },
      WaitForUpdatesEx: { count: 1, medianMs: 100, minMs: 100, maxMs: 100 },
    });
  });

  it('finds the most calls in flight at once, a call ending as another starts not overlapping', () => {
    assert.equal(peakInFlight(recs, 'QueryPerf'), 3);
    assert.equal(peakInFlight(recs), 3);
    assert.equal(peakInFlight([rec('QueryPerf', 0, 10), rec('QueryPerf', 10, 20)]), 1);
    assert.equal(peakInFlight([]), 0);
  });
});
