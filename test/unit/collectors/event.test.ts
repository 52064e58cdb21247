import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ALLOW_ALL, type CollectContext } from '../../../src/collectors/collector.js';
import { createEventCollector, eventLabels, OTHER } from '../../../src/collectors/event.js';
import { encodeFamilies, type MetricFamily } from '../../../src/exposition/index.js';
import { nameRegExp } from '../../../src/model/filters.js';
import type { EventRecord } from '../../../src/vsphere/event-decode.js';
import { assembleInventory } from '../../../src/vsphere/inventory.js';
import { find, parsePrometheusText, type Sample } from '../../harness/prom-text.js';

let nextKey = 1;
function ev(
  type: string,
  entityType = 'VirtualMachine',
  severity = 'info',
  createdSeconds = 1_800_000_000,
): EventRecord {
  return { key: nextKey++, type, entityType, severity, createdSeconds, createdTime: '' };
}

/** Runs `collector` once per batch (each batch is what the source hands out in that collection). */
async function run(
  collector: ReturnType<typeof createEventCollector>,
  ...batches: EventRecord[][]
): Promise<Sample[]> {
  let families: MetricFamily[] = [];
  for (const batch of batches) {
    families = [];
    const ctx = {
      perf: undefined as never,
      inventory: assembleInventory([], {}),
      filter: ALLOW_ALL,
      signal: new AbortController().signal,
      logger: pino({ level: 'silent' }),
      events: { read: () => Promise.resolve(batch) },
    } as CollectContext;
    await collector.collect(ctx, (f) => families.push(f));
  }
  return parsePrometheusText(encodeFamilies(families).toString()).samples;
}

const totals = (samples: Sample[]): [string, number][] =>
  find(samples, 'vsphere_events_total')
    .map(
      (s) => [`${s.labels.type}|${s.labels.entity_kind}|${s.labels.severity}`, s.value] as [string, number],
    )
    .sort(([a], [b]) => a.localeCompare(b));

describe('events collector', () => {
  it('keeps running totals across collections, by type, entity kind and severity', async () => {
    const c = createEventCollector();
    const samples = await run(
      c,
      [ev('VmPoweredOnEvent'), ev('VmPoweredOnEvent'), ev('HostConnectionLostEvent', 'HostSystem', 'error')],
      [],
      [ev('VmPoweredOnEvent', 'VirtualMachine', 'info', 1_800_000_100)],
    );
    assert.deepEqual(totals(samples), [
      ['HostConnectionLostEvent|HostSystem|error', 1],
      ['VmPoweredOnEvent|VirtualMachine|info', 3],
    ]);
    assert.equal(find(samples, 'vsphere_events_latest_timestamp_seconds')[0]?.value, 1_800_000_100);
  });

  it('without any event: no series, no latest timestamp; the families are still emitted', async () => {
    const samples = await run(createEventCollector(), []);
    assert.deepEqual(samples, []);
  });

  it('include and exclude (anchored regexes) decide what is counted; the latest timestamp counts every event', async () => {
    const c = createEventCollector({
      include: ['Vm.*', String.raw`com\.vmware\.vc\.ha\..*`].map(nameRegExp),
      exclude: ['VmStartingEvent'].map(nameRegExp),
    });
    const samples = await run(c, [
      ev('VmPoweredOnEvent'),
      ev('VmStartingEvent'),
      ev('com.vmware.vc.ha.VmRestartedByHAEvent', 'VirtualMachine', 'warning'),
      ev('UserLoginSessionEvent', '', 'info', 1_900_000_000),
      // Anchored: "XVmPoweredOnEvent" is not a Vm.* type.
      ev('XVmPoweredOnEvent'),
    ]);
    assert.deepEqual(totals(samples), [
      ['com.vmware.vc.ha.VmRestartedByHAEvent|VirtualMachine|warning', 1],
      ['VmPoweredOnEvent|VirtualMachine|info', 1],
    ]);
    assert.equal(find(samples, 'vsphere_events_latest_timestamp_seconds')[0]?.value, 1_900_000_000);
  });

  it('past max_types distinct types, new types count under "other" (the known ones keep counting)', async () => {
    const c = createEventCollector({ maxTypes: 2 });
    const samples = await run(
      c,
      [ev('A1Event'), ev('A2Event'), ev('A3Event')],
      [ev('A1Event'), ev('A4Event')],
    );
    assert.deepEqual(totals(samples), [
      ['A1Event|VirtualMachine|info', 2],
      ['A2Event|VirtualMachine|info', 1],
      [`${OTHER}|VirtualMachine|info`, 2],
    ]);
  });

  it('hostile names never become labels: free text, label syntax, __proto__ lookalikes', async () => {
    const c = createEventCollector({ maxTypes: 3 });
    const samples = await run(c, [
      ev('Host "h1" lost its connection\nat 10:00'),
      ev('x{type="y"}'),
      ev(''),
      ev('constructor', 'toString', 'hasOwnProperty'),
      ev('__proto__', '__proto__', '__proto__'),
    ]);
    assert.deepEqual(totals(samples), [
      ['__proto__|other|unknown', 1],
      ['constructor|other|unknown', 1],
      ['other|VirtualMachine|info', 3],
    ]);
  });

  it('eventLabels: entity kinds are vim25 managed entity types, severities the four categories', () => {
    assert.deepEqual(eventLabels(ev('E', 'ClusterComputeResource', 'user'), {}), [
      'E',
      'ClusterComputeResource',
      'user',
    ]);
    assert.deepEqual(eventLabels(ev('E', '', ''), {}), ['E', 'none', 'unknown']);
    assert.deepEqual(eventLabels(ev('E', 'Alarm', 'critical'), {}), ['E', 'other', 'unknown']);
  });

  it('fails (its success metric says so) when the target has no event source', async () => {
    const ctx = {
      inventory: assembleInventory([], {}),
      filter: ALLOW_ALL,
      signal: new AbortController().signal,
      logger: pino({ level: 'silent' }),
    } as unknown as CollectContext;
    await assert.rejects(
      createEventCollector().collect(ctx, () => undefined),
      /no event source/,
    );
  });
});
