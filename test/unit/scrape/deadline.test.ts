import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectionBudgetSeconds } from '../../../src/scrape/deadline.js';

const cfg = { timeoutSeconds: 10, timeoutOffsetSeconds: 0.5 };

test('uses Prometheus timeout minus the offset, capped by the configured timeout', () => {
  assert.equal(collectionBudgetSeconds('5', cfg), 4.5);
  assert.equal(collectionBudgetSeconds('30', cfg), 10);
  assert.equal(collectionBudgetSeconds(['4', '9'], cfg), 3.5);
});

test('falls back to the configured timeout for a missing or bad header, never below 0.1 s', () => {
  for (const h of [undefined, '', 'abc', '-3', '0', 'NaN', 'Infinity'])
    assert.equal(collectionBudgetSeconds(h, cfg), 10, String(h));
  assert.equal(collectionBudgetSeconds('0.3', cfg), 0.1);
});
