import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocation } from '../../../src/collectors/resource-pool.js';
import { addCounts, bump, type StateCounts } from '../../../src/collectors/state-counts.js';
import { MetricFamily } from '../../../src/exposition/index.js';
import { parseXml } from '../../../src/vsphere/soap/xml.js';

test('addCounts: every listed state (0 when none), unknown states kept', () => {
  const counts: StateCounts = new Map();
  bump(counts, 'c1', 'connected');
  bump(counts, 'c1', 'connected');
  bump(counts, 'c1', 'maintenance-ish');
  const fam = new MetricFamily('x', 'h', 'gauge', ['c', 'state']);
  addCounts(fam, ['c1'], ['connected', 'disconnected'], counts.get('c1'));
  addCounts(fam, ['c2'], ['connected', 'disconnected'], counts.get('c2'));
  assert.equal(fam.size, 5);
  const text = fam.labelBlocks.map((b, i) => `${b} ${fam.values[i]}`).join('\n');
  assert.match(text, /c="c1",state="connected"\} 2/);
  assert.match(text, /c="c1",state="disconnected"\} 0/);
  assert.match(text, /c="c1",state="maintenance-ish"\} 1/);
  assert.match(text, /c="c2",state="disconnected"\} 0/);
});

test('allocation: reservation, shares; limit -1 (unlimited) and malformed values left out', () => {
  const xml = (s: string) => parseXml(`<val>${s}</val>`);
  assert.deepEqual(
    allocation(
      xml(
        '<reservation>100</reservation><expandableReservation>true</expandableReservation>' +
          '<limit>-1</limit><shares><shares>4000</shares><level>normal</level></shares>',
      ),
    ),
    { reservation: 100, limit: undefined, shares: 4000 },
  );
  assert.deepEqual(allocation(xml('<reservation>x</reservation><limit>2048</limit>')), {
    reservation: undefined,
    limit: 2048,
    shares: undefined,
  });
  assert.deepEqual(allocation(undefined), {});
});
