/**
 * Strings from vCenter are data: a fault type, a property name or a VM name that happens to be
 * "constructor", "__proto__" or to hold a character XML forbids costs at most that object (or
 * that character), never the target; an entity listed twice never becomes a duplicate series.
 * vcsim behind the fault proxy, which rewrites or replaces single answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { timedScrape } from '../harness/env.js';
import type { FaultRule } from '../harness/fault-proxy.js';
import { procAlive } from '../harness/procs.js';
import {
  assertNoDuplicateSeries,
  startHostileRig,
  warnings,
  type HostileRig,
} from '../harness/hostile-rig.js';

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined => {
  const hits = find(samples, name, labels);
  assert.ok(hits.length <= 1, `more than one ${name} series for ${JSON.stringify(labels)}`);
  return hits[0]?.value;
};

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Names every JavaScript object inherits: as keys of a plain object they find a function (or the
// prototype itself) instead of nothing.
const PROTOTYPE_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

describe('hostile answers: a QueryPerf fault typed like an Object.prototype member (one target, /metrics and /probe)', () => {
  let rig: HostileRig;

  before(async () => {
    rig = await startHostileRig({
      config: (url, vc, pw) =>
        `targets:\n  - name: vc\n    url: ${url}\n    user: ${vc.user}\n    password_file: ${pw}\ndefault_target: vc\n`,
      configOnly: true,
    });
    assert.equal(value((await timedScrape(rig.exporter)).samples, 'vsphere_up'), 1);
  });
  after(async () => {
    await rig?.close();
  });

  for (const type of PROTOTYPE_NAMES)
    test(`xsi:type="${type}": the faulted scrape loses one collector; every later /metrics and /probe answers 200 with vsphere_up 1`, async (t) => {
      const { proxy, exporter } = rig;
      proxy.addRule({ method: 'QueryPerf', fault: 'typed-fault', faultType: type, times: 1 });
      let faulted: Awaited<ReturnType<typeof timedScrape>>;
      try {
        faulted = await timedScrape(exporter);
      } finally {
        proxy.clearRules();
      }
      assert.equal(faulted.status, 200, faulted.text.slice(0, 300));
      assert.equal(value(faulted.samples, 'vsphere_up'), 1);
      const vm = value(faulted.samples, 'vsphere_collector_success', { collector: 'vm' }) ?? NaN;
      const host = value(faulted.samples, 'vsphere_collector_success', { collector: 'host' }) ?? NaN;
      assert.equal(vm + host, 1, `vm ${vm}, host ${host}: the faulted QueryPerf costs its collector`);
      const statuses: string[] = [];
      for (const path of ['/metrics', '/probe?target=vc', '/metrics', '/probe?target=vc']) {
        const res = await exporter.scrape(path);
        statuses.push(`${path} ${res.status}`);
        assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 300)}`);
        const samples = parsePrometheusText(res.text).samples;
        assert.equal(value(samples, 'vsphere_up'), 1, path);
        assertNoDuplicateSeries(samples);
        if (path === '/metrics') {
          const outcomes = find(samples, 'vsphere_soap_requests_total', { method: 'QueryPerf' });
          assert.ok(
            outcomes.some((s) => s.labels.outcome === 'VSPHERE_FAULT'),
            JSON.stringify(outcomes.map((s) => s.labels)),
          );
        }
      }
      assert.ok(procAlive(exporter.pid));
      t.diagnostic(`faulted scrape 200, vsphere_up 1; then ${statuses.join(', ')}`);
    });
});

/** How one inventory mode is made to read a given object afresh, with `transform` applied to that answer. */
interface Mode {
  name: string;
  config?: (url: string) => string;
  rules(transform: (body: string) => string): FaultRule[];
  /** A property of the first VM as the answer carries it: `propSet` (full read) or `changeSet` (updates). */
  property(name: string, value: string): string;
}

// The incremental watch reads every object again only in a fresh watch: one 503 on its update
// read makes it start over, and the full read of the new watch is the answer rewritten.
const MODES: Mode[] = [
  {
    name: 'incremental inventory (WaitForUpdatesEx)',
    rules: (transform) => [
      { method: 'WaitForUpdatesEx', fault: 'html-503', times: 1 },
      { method: 'WaitForUpdatesEx', fault: 'mangle', times: 1, transform },
    ],
    property: (name, v) =>
      `<changeSet><name>${name}</name><op>assign</op><val xsi:type="xsd:string">${v}</val></changeSet>`,
  },
  {
    name: 'full inventory (RetrievePropertiesEx)',
    config: () => 'vsphere:\n  inventory: full\n',
    rules: (transform) => [
      {
        method: 'RetrievePropertiesEx',
        fault: 'mangle',
        times: 1,
        bodyIncludes: '>VirtualMachine<',
        transform,
      },
    ],
    property: (name, v) => `<propSet><name>${name}</name><val xsi:type="xsd:string">${v}</val></propSet>`,
  },
];

for (const mode of MODES)
  describe(`hostile answers: one odd object, ${mode.name}`, () => {
    let rig: HostileRig;

    before(async () => {
      rig = await startHostileRig(mode.config ? { config: mode.config } : {});
      assert.equal(value((await timedScrape(rig.exporter)).samples, 'vsphere_up'), 1);
    });
    after(async () => {
      await rig?.close();
    });

    /** One scrape with `rules` in force; asserts the target stayed up with every VM but `vmsLeftOut`. */
    async function scrapeWith(rules: FaultRule[], vmsLeftOut = 0): Promise<Sample[]> {
      const { proxy, exporter, vc } = rig;
      for (const r of rules) proxy.addRule(r);
      let res: Awaited<ReturnType<typeof timedScrape>>;
      try {
        res = await timedScrape(exporter);
      } finally {
        proxy.clearRules();
      }
      assert.equal(res.status, 200);
      const code = find(res.samples, 'vsphere_last_error_info')[0]?.labels;
      assert.equal(value(res.samples, 'vsphere_up'), 1, JSON.stringify(code));
      assert.equal(find(res.samples, 'vsphere_vm_info').length, vc.inventory.vms.length - vmsLeftOut);
      assert.equal(find(res.samples, 'vsphere_host_info').length, vc.inventory.hosts.length);
      assertNoDuplicateSeries(res.samples);
      return res.samples;
    }

    test('a VM name with &#x1b;, &#0; and &#xD800; (characters XML 1.0 forbids) keeps the VM, each character read as U+FFFD, logged', async (t) => {
      const vm = rig.vc.inventory.vms[0]!;
      let applied = false;
      const transform = (body: string): string => {
        const re = new RegExp(`(<name>name</name>(?:<op>assign</op>)?<val[^>]*>)${escapeRe(vm.name)}<`);
        applied ||= re.test(body);
        return body.replace(re, `$1${vm.name}&#x1b;[31m&#0;&#xD800;<`);
      };
      const samples = await scrapeWith(mode.rules(transform));
      assert.ok(applied, 'the answer carrying the VM name was rewritten');
      const names = find(samples, 'vsphere_vm_info').map((s) => s.labels.vm);
      assert.ok(names.includes(`${vm.name}\uFFFD[31m\uFFFD\uFFFD`), JSON.stringify(names));
      const logged = warnings(rig.exporter, /U\+FFFD/);
      assert.ok(logged.length >= 1, 'a warning names the replaced references');
      assert.match(JSON.stringify(logged.at(-1)), /&#x1b;/);
      t.diagnostic(
        `vm label ${JSON.stringify(`${vm.name}\uFFFD[31m\uFFFD\uFFFD`)}; log: ${JSON.stringify(logged.at(-1))}`,
      );
    });

    test('properties named __proto__, constructor, __defineGetter__ and toString are skipped and logged; the VM and the rest are kept', async (t) => {
      let applied = false;
      const odd = ['__proto__', 'constructor', '__defineGetter__', 'toString'];
      const transform = (body: string): string => {
        const re = /(<obj type="VirtualMachine">[^<]*<\/obj>)/;
        applied ||= re.test(body);
        return body.replace(re, `$1${odd.map((n) => mode.property(n, 'x')).join('')}`);
      };
      await scrapeWith(mode.rules(transform));
      assert.ok(applied, 'the answer carrying a VM was rewritten');
      const logged = warnings(rig.exporter, /skipped properties/);
      assert.ok(logged.length >= 1, 'a warning names the skipped properties');
      const text = JSON.stringify(logged.at(-1));
      for (const n of odd) assert.ok(text.includes(n), `${n} in ${text}`);
      t.diagnostic(`log: ${text}`);
    });

    test('an object without its type: that VM is skipped and logged, the target stays up with every other object', async (t) => {
      let applied = false;
      const transform = (body: string): string =>
        body.replace(/<obj type="VirtualMachine">/, () => {
          applied = true;
          return '<obj>';
        });
      await scrapeWith(mode.rules(transform), 1);
      assert.ok(applied, 'the answer carrying a VM was rewritten');
      const logged = warnings(rig.exporter, /skipped objects without obj, type or kind/);
      assert.ok(logged.length >= 1, 'a warning counts the skipped object');
      assert.equal((logged.at(-1) as { count?: number }).count, 1);
      t.diagnostic(`log: ${JSON.stringify(logged.at(-1))}`);
      // The next full read has it again: the full mode reads everything each time; the watch, at its
      // next resync (here after a dropped update read).
      await scrapeWith(
        mode.name.startsWith('full') ? [] : [{ method: 'WaitForUpdatesEx', fault: 'html-503', times: 1 }],
      );
    });

    test('an entity listed twice in every QueryPerf answer: no duplicate series, the copy skipped and logged', async (t) => {
      let applied = 0;
      const transform = (body: string): string =>
        body.replace(/<returnval[\s>][\s\S]*?<\/returnval>/, (rv) => {
          applied++;
          return rv + rv;
        });
      const samples = await scrapeWith([{ method: 'QueryPerf', fault: 'mangle', transform }]);
      assert.ok(applied >= 2, `${applied} QueryPerf answers rewritten`);
      assert.equal(value(samples, 'vsphere_collector_success', { collector: 'vm' }), 1);
      assert.equal(value(samples, 'vsphere_collector_success', { collector: 'host' }), 1);
      const logged = warnings(rig.exporter, /skipped samples/);
      assert.ok(logged.length >= 2, `${logged.length} warnings about skipped samples`);
      assert.match(JSON.stringify(logged.at(-1)), /listed twice/);
      t.diagnostic(
        `${applied} answers with a duplicated entity; ${samples.length} samples, none duplicated; log: ${JSON.stringify(logged.at(-1)).slice(0, 300)}`,
      );
    });

    // An update read only the watch makes (the full mode reads everything each time).
    if (mode.name.startsWith('incremental'))
      test('changes that cannot be applied (a leave without a type, a modify of an object never entered) are skipped, and the watch reads everything again, at most once per 15 min', async (t) => {
        const { proxy, exporter, vc } = rig;
        // vcsim answers an update read without changes with an empty response: give it two odd changes.
        let applied = 0;
        const odd =
          '<returnval><filterSet><filter type="PropertyFilter">f</filter>' +
          '<objectSet><kind>leave</kind><obj>vm-x</obj></objectSet>' +
          '<objectSet><kind>modify</kind><obj type="VirtualMachine">vm-never-entered</obj>' +
          '<changeSet><name>name</name><op>assign</op><val xsi:type="xsd:string">ghost</val></changeSet></objectSet>' +
          '</filterSet><version>odd-1</version></returnval>';
        const transform = (body: string): string =>
          body.replace(
            /<WaitForUpdatesExResponse([^>]*?)(?:\/>|>\s*<\/WaitForUpdatesExResponse>)/,
            (_, attrs: string) => {
              applied++;
              return `<WaitForUpdatesExResponse${attrs}>${odd}</WaitForUpdatesExResponse>`;
            },
          );
        const scrapeOdd = async (): Promise<Sample[]> => {
          proxy.resetCounts();
          proxy.addRule({ method: 'WaitForUpdatesEx', fault: 'mangle', times: 1, transform });
          try {
            const res = await timedScrape(exporter);
            assert.equal(res.status, 200);
            return res.samples;
          } finally {
            proxy.clearRules();
          }
        };
        const first = await scrapeOdd();
        assert.equal(applied, 1, 'the update read was given the odd changes');
        const code = find(first, 'vsphere_last_error_info')[0]?.labels;
        assert.equal(value(first, 'vsphere_up'), 1, JSON.stringify(code));
        const vms = find(first, 'vsphere_vm_info');
        assert.equal(vms.length, vc.inventory.vms.length);
        assert.ok(!vms.some((s) => s.labels.vm === 'ghost' || s.labels.vm_moid === 'vm-never-entered'));
        assertNoDuplicateSeries(first);
        const logged = warnings(exporter, /skipped objects without obj, type or kind/);
        assert.equal((logged.at(-1) as { count?: number }).count, 2);
        const resynced = proxy.counts().CreateFilter ?? 0;
        assert.equal(resynced, 1, 'a new watch read everything again');

        // The same again within 15 min: skipped, counted, no second full read.
        const second = await scrapeOdd();
        assert.equal(applied, 2);
        assert.equal(value(second, 'vsphere_up'), 1);
        assert.equal(find(second, 'vsphere_vm_info').length, vc.inventory.vms.length);
        assert.equal(proxy.counts().CreateFilter ?? 0, 0, 'no second full read within 15 min');
        t.diagnostic(`first: ${resynced} new watch; second: none; log: ${JSON.stringify(logged.at(-1))}`);
      });
  });
