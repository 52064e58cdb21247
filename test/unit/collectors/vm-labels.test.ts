/**
 * The vm collector keeps a VM's rendered label blocks while its inventory record is unchanged:
 * what it writes must still follow everything the blocks are made of — the record itself, and for
 * vsphere_vm_info also the host's name and placement, which live outside the record.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CollectContext, Collector } from '../../../src/collectors/collector.js';
import type { MetricFamily } from '../../../src/exposition/index.js';
import { createVmCollector } from '../../../src/collectors/vm.js';
import type { Inventory } from '../../../src/vsphere/inventory.js';
import { collectText, model, obj, ref, samples, val } from './model-fixture.js';

// The vm collector with a perf manager that knows no counter: no perf families, no call.
function vmCollector(options: Parameters<typeof createVmCollector>[0] = {}): Collector {
  const c = createVmCollector(options);
  const perf = { counters: () => Promise.resolve(new Map()) };
  return { ...c, collect: (ctx, emit) => c.collect({ ...ctx, perf } as unknown as CollectContext, emit) };
}

const vmProps = (name: string) => ({
  name: val(name),
  'summary.runtime.powerState': val('poweredOn'),
  'summary.runtime.host': ref('HostSystem', 'host-1'),
  'guest.toolsRunningStatus': val('guestToolsRunning'),
});

describe('vm collector: label blocks kept across collections', () => {
  test('an unchanged record with a renamed host: the info block follows the host, the id blocks stay', async () => {
    const collector = vmCollector();
    const first = model([
      obj('VirtualMachine', 'vm-1', vmProps('web01')),
      obj('HostSystem', 'host-1', { name: val('esx01') }),
    ]);
    const before = await collectText(collector, first);
    assert.match(samples(before, 'vsphere_vm_info')[0]!, /host="esx01",host_moid="host-1"/);
    // The same VM record (as the watch keeps it), its host renamed.
    const host = { ...first.hostsByMoid.get('host-1')!, name: 'esx01-renamed' };
    const second: Inventory = { ...first, hosts: [host], hostsByMoid: new Map([['host-1', host]]) };
    assert.equal(second.vms[0], first.vms[0]);
    const after = await collectText(collector, second);
    assert.match(samples(after, 'vsphere_vm_info')[0]!, /host="esx01-renamed",host_moid="host-1"/);
    // Everything but the info line is what the first collection wrote.
    const rest = (text: string) => text.split('\n').filter((l) => !l.startsWith('vsphere_vm_info'));
    assert.deepEqual(rest(after), rest(before));
    assert.deepEqual(samples(after, 'vsphere_vm_power_state'), [
      'vsphere_vm_power_state{vm="web01",vm_moid="vm-1",state="poweredOff"} 0',
      'vsphere_vm_power_state{vm="web01",vm_moid="vm-1",state="poweredOn"} 1',
      'vsphere_vm_power_state{vm="web01",vm_moid="vm-1",state="suspended"} 0',
    ]);
  });

  test('a renamed VM (a new record) gets new blocks in every family', async () => {
    const collector = vmCollector();
    const host = obj('HostSystem', 'host-1', { name: val('esx01') });
    await collectText(collector, model([obj('VirtualMachine', 'vm-1', vmProps('web01')), host]));
    const text = await collectText(collector, model([obj('VirtualMachine', 'vm-1', vmProps('web02')), host]));
    assert.doesNotMatch(text, /web01/);
    assert.equal(samples(text, 'vsphere_vm_power_state{vm="web02"').length, 3);
    assert.equal(samples(text, 'vsphere_vm_guest_tools_running{vm="web02"').length, 3);
    assert.match(samples(text, 'vsphere_vm_info')[0]!, /^vsphere_vm_info\{vm="web02",vm_moid="vm-1",/);
  });

  test('an unchanged record in another cluster or with another tag: a new info block; nothing changed: the same text', async () => {
    const collector = vmCollector({ infoLabels: ['tag_env'] });
    const inv = model([
      obj('VirtualMachine', 'vm-1', vmProps('web01')),
      obj('HostSystem', 'host-1', { name: val('esx01') }),
    ]);
    let tag = 'prod';
    let place = { cluster: 'C0', datacenter: 'DC0' };
    const infoBlocks = async (inventory: Inventory): Promise<readonly string[]> => {
      const fams: MetricFamily[] = [];
      const ctx = {
        inventory,
        filter: { allows: () => true },
        signal: new AbortController().signal,
        infoLabels: Promise.resolve(() => [tag]),
      } as unknown as CollectContext;
      await collector.collect(ctx, (f) => fams.push(f));
      return fams.find((f) => f.name === 'vsphere_vm_info')!.labelBlocks;
    };
    const moved = (): Inventory => ({ ...inv, placement: () => place });
    const first = (await infoBlocks(moved()))[0]!;
    assert.match(first, /cluster="C0",datacenter="DC0",.*tag_env="prod"\}$/);
    // The same values again: the same block.
    assert.equal((await infoBlocks(moved()))[0], first);
    place = { cluster: 'C1', datacenter: 'DC0' };
    assert.match((await infoBlocks(moved()))[0]!, /cluster="C1",datacenter="DC0",.*tag_env="prod"\}$/);
    tag = 'test';
    assert.match((await infoBlocks(moved()))[0]!, /cluster="C1",.*tag_env="test"\}$/);
  });
});
