import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COLLECTORS, enabledCollectors, type CollectorDeps } from '../../../src/collectors/registry.js';
import type { CollectorOptions } from '../../../src/config/schema.js';
import { COLLECTOR_DEFAULTS, COLLECTOR_NAMES } from '../../../src/model/names.js';

const OPTIONS: CollectorOptions = {
  vm: { snapshotTimestamps: false, instanceMetrics: false, extraCounters: [] },
  host: { extraCounters: [] },
  historical: false,
  infoLabels: { tagCategories: [], customAttributes: [] },
};

/** What a target builds its collectors from (they hold no session: the tag source is the target's). */
function deps(options: CollectorOptions = OPTIONS): { deps: CollectorDeps } {
  return { deps: { options } };
}

void describe('collector registry', () => {
  void it('has one entry per collector name of the model, in its order, with its default', () => {
    assert.deepEqual(
      COLLECTORS.map((c) => c.name),
      COLLECTOR_NAMES,
    );
    for (const c of COLLECTORS) assert.equal(c.enabledByDefault, COLLECTOR_DEFAULTS[c.name], c.name);
  });

  void it('each factory builds the collector of its entry, with the families the docs list', () => {
    const { deps: d } = deps();
    for (const c of COLLECTORS) {
      const built = c.create(d);
      assert.equal(built.name, c.name);
      assert.deepEqual(
        built.families.map((f) => f.name),
        c.families.map((f) => f.name),
        `families of ${c.name}`,
      );
    }
  });

  void it('options reach the factories: info_labels become labels of vsphere_vm_info', () => {
    const options = { ...OPTIONS, infoLabels: { tagCategories: ['Owner'], customAttributes: [] } };
    const [vm] = enabledCollectors({ vm: true, host: false, tag: false }, deps(options).deps).filter(
      (c) => c.name === 'vm',
    );
    assert.deepEqual(vm!.families[0]!.labels.at(-1), 'tag_owner');
  });

  void it('builds the enabled collectors only; an absent name takes its default', () => {
    const { deps: d } = deps();
    const names = (on: Parameters<typeof enabledCollectors>[0]) =>
      enabledCollectors(on, d).map((c) => c.name);
    assert.deepEqual(
      names({}),
      COLLECTOR_NAMES.filter((n) => COLLECTOR_DEFAULTS[n]),
    );
    assert.deepEqual(names({ vm: false, alarm: false, cluster: true }), [
      'host',
      'cluster',
      'datastore',
      'resource_pool',
      'datacenter',
      'license',
      'certificate',
      'vsan',
    ]);
    const tag = enabledCollectors({ tag: true }, d).find((c) => c.name === 'tag');
    assert.ok(tag, 'the tag collector is built when enabled');
    assert.ok(!('close' in tag), 'a collector holds nothing to close');
  });
});
