/**
 * Cluster DRS/HA and host hardware/pNIC health against both simulators, each family compared with
 * what the raw SOAP client (no code shared with the exporter) reads from the same properties.
 * What the simulators do not answer (DRS score, admission control, a red element, a link down)
 * is covered by test/unit/collectors/cluster-host-health.test.ts from vim25-shaped answers.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { startVcsim } from '../harness/vcsim.js';
import { startVcsim8, vcsim8SkipReason } from '../harness/vcsim8.js';
import { allTags, firstTag, RawVimClient } from '../harness/vim-soap.js';

const MODEL = ['-cluster', '2', '-host', '2', '-standalone-host', '1', '-vm', '1'];
const HW = 'runtime.healthSystemRuntime.hardwareStatusInfo';
const COMPONENTS = [
  ['memoryStatusInfo', 'memory'],
  ['cpuStatusInfo', 'cpu'],
  ['storageStatusInfo', 'storage'],
] as const;

interface Sim {
  url: string;
  user: string;
  password: string;
  stop(): Promise<void>;
}

/** Counts what was compared, so a simulator that answers nothing fails the test rather than passing it. */
interface Compared {
  elements: number;
  notGreen: number;
  nics: number;
  linksDown: number;
  clusters: number;
}

async function compare(vc: Sim): Promise<Compared> {
  const dir = mkdtempSync(join(tmpdir(), 'vsx-health-'));
  const raw = new RawVimClient(vc.url);
  await raw.login(vc.user, vc.password);
  const pw = join(dir, 'password');
  writeFileSync(pw, `${vc.password}\n`, { mode: 0o600 });
  const e = await startExporter({
    env: { VSPHERE_URL: vc.url, VSPHERE_USER: vc.user, VSPHERE_PASSWORD_FILE: pw },
  });
  try {
    const res = await e.scrape();
    assert.equal(res.status, 200);
    const { samples } = parsePrometheusText(res.text);
    const n: Compared = { elements: 0, notGreen: 0, nics: 0, linksDown: 0, clusters: 0 };
    for (const h of await raw.retrieveAll('HostSystem', [HW, 'config.network.pnic'])) {
      const hw = compareHardware(samples, h.moid, h.props[HW] ?? '');
      const nics = compareNics(samples, h.moid, h.props['config.network.pnic'] ?? '');
      n.elements += hw.elements;
      n.notGreen += hw.notGreen;
      n.nics += nics.nics;
      n.linksDown += nics.down;
    }
    const paths = [
      'summary',
      'configuration.dasConfig.admissionControlEnabled',
      'configuration.dasConfig.admissionControlPolicy',
    ];
    for (const c of await raw.retrieveAll('ClusterComputeResource', paths)) {
      compareCluster(samples, c.moid, c.props);
      n.clusters++;
    }
    return n;
  } finally {
    await e.stop();
    await raw.logout().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function compareHardware(
  samples: Sample[],
  moid: string,
  xml: string,
): { elements: number; notGreen: number } {
  let count = 0;
  let notGreen = 0;
  const mine = find(samples, 'vsphere_host_hardware_status', { host_moid: moid });
  for (const [tag, component] of COMPONENTS) {
    for (const el of allTags(xml, tag)) {
      const name = firstTag(el, 'name')!;
      // The status key is the last <key> of the element: its ElementDescription's.
      const key = firstTag(el.slice(el.indexOf('<status')), 'key')!.toLowerCase();
      const series = mine.filter((s) => s.labels.component === component && s.labels.name === name);
      assert.deepEqual(
        series.filter((s) => s.value === 1).map((s) => s.labels.state),
        [key],
        `${moid} ${component} ${name}`,
      );
      assert.equal(series.length, 4, 'green/yellow/red/unknown');
      count++;
      if (key !== 'green') notGreen++;
    }
  }
  assert.equal(mine.length, count * 4, `${moid}: no element the raw client does not see`);
  return { elements: count, notGreen };
}

function compareNics(samples: Sample[], moid: string, xml: string): { nics: number; down: number } {
  const nics = allTags(xml, 'PhysicalNic');
  let down = 0;
  assert.equal(find(samples, 'vsphere_host_pnic_link_up', { host_moid: moid }).length, nics.length);
  for (const nic of nics) {
    const device = firstTag(nic, 'device')!;
    // spec.linkSpeed is what was configured; the top-level linkSpeed (absent when down) is the link.
    const link = allTags(nic.replace(/<spec>[\s\S]*?<\/spec>/, ''), 'linkSpeed')[0];
    const labels = { host_moid: moid, nic: device };
    const value = (name: string): number | undefined => find(samples, name, labels)[0]?.value;
    assert.equal(value('vsphere_host_pnic_link_up'), link === undefined ? 0 : 1, device);
    if (link === undefined) down++;
    const speedMb = link === undefined ? undefined : Number(firstTag(link, 'speedMb'));
    assert.equal(
      value('vsphere_host_pnic_speed_bytes_per_second'),
      speedMb === undefined ? undefined : (speedMb * 1e6) / 8,
    );
    const duplex = link === undefined ? undefined : firstTag(link, 'duplex') === 'true' ? 1 : 0;
    assert.equal(value('vsphere_host_pnic_full_duplex'), duplex);
  }
  return { nics: nics.length, down };
}

function compareCluster(samples: Sample[], moid: string, props: Record<string, string>): void {
  const summary = props.summary ?? '';
  const value = (name: string): number | undefined => find(samples, name, { cluster_moid: moid })[0]?.value;
  const rawNum = (xml: string, tag: string): number | undefined => {
    const t = firstTag(xml, tag);
    return t === undefined ? undefined : Number(t);
  };
  assert.equal(value('vsphere_cluster_ha_current_failover_level'), rawNum(summary, 'currentFailoverLevel'));
  const score = rawNum(summary, 'drsScore');
  assert.equal(value('vsphere_cluster_drs_score_ratio'), score === undefined ? undefined : score / 100);
  assert.equal(
    find(samples, 'vsphere_cluster_drs_score_bucket_vms', { cluster_moid: moid }).length,
    allTags(summary, 'numVmsPerDrsScoreBucket').length,
  );
  const info = allTags(summary, 'admissionControlInfo')[0] ?? '';
  const cpu = rawNum(info, 'currentCpuFailoverResourcesPercent');
  assert.equal(
    value('vsphere_cluster_ha_failover_cpu_available_ratio'),
    cpu === undefined ? undefined : cpu / 100,
  );
  const enabled = props['configuration.dasConfig.admissionControlEnabled'];
  assert.equal(
    value('vsphere_cluster_ha_admission_control_enabled'),
    enabled === undefined || enabled === '' ? undefined : enabled === 'true' ? 1 : 0,
  );
  const policy = props['configuration.dasConfig.admissionControlPolicy'] ?? '';
  assert.equal(
    find(samples, 'vsphere_cluster_ha_admission_control_policy', { cluster_moid: moid }).length > 0,
    policy !== '',
  );
}

void describe('cluster and host health, compared with the raw client', { timeout: 240_000 }, () => {
  const sims: Sim[] = [];
  after(async () => {
    for (const s of sims) await s.stop();
  });

  test('vcsim 0.24 -extras: hardware status (CPU, memory, storage; one yellow), pNIC link/speed/duplex (one down), failover level; no DRS/HA series it does not answer', async () => {
    const vc = await startVcsim({ args: [...MODEL, '-extras'] });
    sims.push(vc);
    const n = await compare(vc);
    // 2 clusters × 2 hosts + 1 standalone host, each with 2 CPU sockets and 2 vmnics; -extras
    // adds a memory element and a storage controller to each (yellow on one host) and takes the
    // link of one host's vmnic1 down.
    assert.deepEqual(n, { elements: 20, notGreen: 1, nics: 10, linksDown: 1, clusters: 2 });
  });

  test('vcsim 8: the same families, the same answers', { skip: vcsim8SkipReason() }, async () => {
    const vc = await startVcsim8({ args: MODEL });
    sims.push(vc);
    const n = await compare(vc);
    // Stock vcsim 8: each host's 2 CPU sockets (green) and 2 vmnics with a link.
    assert.deepEqual(n, { elements: 10, notGreen: 0, nics: 10, linksDown: 0, clusters: 2 });
  });
});
