import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClusterCollector } from '../../../src/collectors/cluster.js';
import { datacenterCollector } from '../../../src/collectors/datacenter.js';
import { createResourcePoolCollector } from '../../../src/collectors/resource-pool.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');
const MODEL_ONLY = ['collectors/cluster.ts', 'collectors/datacenter.ts', 'collectors/resource-pool.ts'];
// The modules that talk to vCenter: a collector importing one could read it behind the model's back.
const FORBIDDEN = [
  'vsphere/client.ts',
  'vsphere/property-collector.ts',
  'vsphere/soap/transport.ts',
  'vsphere/rest/transport.ts',
];

/** Every module `file` imports (type-only imports included), as paths relative to src/. */
function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(SRC, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)].map(([, spec]) =>
    path.relative(SRC, path.resolve(path.dirname(path.join(SRC, file)), spec!.replace(/\.js$/, '.ts'))),
  );
}

test('cluster, datacenter and resource_pool import nothing that talks to vCenter', () => {
  for (const file of MODEL_ONLY) {
    const list = imports(file);
    assert.ok(
      list.includes('collectors/collector.ts'),
      `${file}: its imports were read (${list.join(', ')})`,
    );
    for (const f of FORBIDDEN) assert.ok(!list.includes(f), `${file} imports ${f}`);
    const text = fs.readFileSync(path.join(SRC, file), 'utf8');
    assert.doesNotMatch(text, /ctx\.client|readView|viewSpecs|fromObjects|retrieve[A-Z]/, file);
  }
});

test('each declares what it reads from the model, per concrete type, and no view of its own', () => {
  const collectors = [
    createClusterCollector({ historical: true }),
    datacenterCollector,
    createResourcePoolCollector({ historical: true }),
  ];
  const wants = new Map([
    ['cluster', ['ClusterComputeResource summary', 'HostSystem summary.quickStats.overallCpuUsage']],
    ['datacenter', ['Datastore summary.accessible', 'Datacenter name', 'Folder parent']],
    [
      'resource_pool',
      ['ResourcePool config.cpuAllocation', 'VirtualApp summary.quickStats', 'VirtualApp owner'],
    ],
  ]);
  for (const c of collectors) {
    assert.equal((c as { viewSpecs?: unknown }).viewSpecs, undefined, c.name);
    const declared = new Set((c.properties ?? []).flatMap((s) => s.pathSet.map((p) => `${s.type} ${p}`)));
    for (const w of wants.get(c.name)!) assert.ok(declared.has(w), `${c.name} declares ${w}`);
    // One spec per type: the model unites them, but a filter listing a type twice is not to be relied on.
    const types = (c.properties ?? []).map((s) => s.type);
    assert.equal(new Set(types).size, types.length, c.name);
  }
});
