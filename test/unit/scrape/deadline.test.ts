import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectionBudget } from '../../../src/scrape/deadline.js';

const cfg = { timeoutSeconds: 10, timeoutOffsetSeconds: 0.5, maxTimeoutSeconds: 120 };
const seconds = (h: string | string[] | undefined, c = cfg): number => collectionBudget(h, c).seconds;

test("Prometheus' timeout header minus the offset is the budget, above scrape.timeout_seconds too", () => {
  assert.equal(seconds('5'), 4.5);
  assert.equal(seconds('50'), 49.5);
  assert.equal(seconds(['4', '9']), 3.5);
  assert.deepEqual(collectionBudget('50', cfg), {
    seconds: 49.5,
    source: 'X-Prometheus-Scrape-Timeout-Seconds 50 minus scrape.timeout_offset_seconds 0.5',
  });
});

test('a header above scrape.max_timeout_seconds is capped, and the source says so', () => {
  assert.deepEqual(collectionBudget('600', cfg), {
    seconds: 120,
    source:
      'scrape.max_timeout_seconds; X-Prometheus-Scrape-Timeout-Seconds 600 minus scrape.timeout_offset_seconds 0.5 is above it',
  });
  assert.equal(seconds('30', { ...cfg, maxTimeoutSeconds: 20 }), 20);
});

test('without a usable header: scrape.timeout_seconds, naming why; never below 0.1 s', () => {
  assert.deepEqual(collectionBudget(undefined, cfg), {
    seconds: 10,
    source: 'scrape.timeout_seconds; no X-Prometheus-Scrape-Timeout-Seconds header',
  });
  for (const h of ['', 'abc', '-3', '0', 'NaN', 'Infinity']) {
    const b = collectionBudget(h, cfg);
    assert.equal(b.seconds, 10, String(h));
    assert.equal(b.source, 'scrape.timeout_seconds; X-Prometheus-Scrape-Timeout-Seconds not a number > 0');
  }
  assert.equal(seconds(undefined, { ...cfg, timeoutSeconds: 30 }), 30);
  assert.equal(seconds('0.3'), 0.1);
  assert.match(collectionBudget('0.3', cfg).source, /raised to the 0\.1 s minimum$/);
});
