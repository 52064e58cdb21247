/**
 * Cluster DRS/HA and host hardware/pNIC health from answers shaped as vCenter 7/8 sends them (vim25
 * WSDL: ClusterComputeResourceSummary, ClusterDasConfigInfo, HostHardwareStatusInfo, PhysicalNic).
 * Neither simulator produces a DRS score, admission control info or policy, or a red element.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterCollector } from '../../../src/collectors/cluster.js';
import type { CollectContext, Collector } from '../../../src/collectors/collector.js';
import { hostCollector } from '../../../src/collectors/host.js';
import { MAX_ELEMENTS_PER_COMPONENT } from '../../../src/vsphere/host-health-info.js';
import { collectText, model, obj, ref, val, samples } from './model-fixture.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const typed = (type: string, inner: string): string => `<val ${XSI} xsi:type="${type}">${inner}</val>`;
const BUCKETS = [0, 1, 2, 10, 37].map((n) => `<numVmsPerDrsScoreBucket>${n}</numVmsPerDrsScoreBucket>`);

const PARENTS = [
  obj('Datacenter', 'dc-1', { name: val('DC0'), parent: ref('Folder', 'root') }),
  obj('Folder', 'hf-1', { name: val('host'), parent: ref('Datacenter', 'dc-1') }),
];
const cluster = (moid: string, name: string, props: Record<string, string>) =>
  obj('ClusterComputeResource', moid, { name: val(name), parent: ref('Folder', 'hf-1'), ...props });

test('cluster health: DRS score and buckets, HA admission control and failover capacity (resource percentage)', async () => {
  const text = await collectText(
    clusterCollector,
    model([
      ...PARENTS,
      cluster('domain-c8', 'Prod', {
        summary: typed(
          'ClusterComputeResourceSummary',
          '<totalCpu>96000</totalCpu><numHosts>4</numHosts><currentFailoverLevel>1</currentFailoverLevel>' +
            `<admissionControlInfo ${XSI} xsi:type="ClusterFailoverResourcesAdmissionControlInfo">` +
            '<currentCpuFailoverResourcesPercent>71</currentCpuFailoverResourcesPercent>' +
            '<currentMemoryFailoverResourcesPercent>18</currentMemoryFailoverResourcesPercent>' +
            '<currentPMemFailoverResourcesPercent>100</currentPMemFailoverResourcesPercent></admissionControlInfo>' +
            `<numVmotions>12</numVmotions><drsScore>87</drsScore>${BUCKETS.join('')}`,
        ),
        'configuration.dasConfig.enabled': val('true'),
        'configuration.dasConfig.admissionControlEnabled': val('true'),
        'configuration.dasConfig.admissionControlPolicy': typed(
          'ClusterFailoverResourcesAdmissionControlPolicy',
          '<cpuFailoverResourcesPercent>25</cpuFailoverResourcesPercent>' +
            '<memoryFailoverResourcesPercent>25</memoryFailoverResourcesPercent>' +
            '<failoverLevel>1</failoverLevel><autoComputePercentages>true</autoComputePercentages>',
        ),
      }),
    ]),
  );
  const id = 'cluster="Prod",cluster_moid="domain-c8"';
  const health = samples(text, 'vsphere_cluster_').filter((l) => /drs_score|ha_(?!enabled)/.test(l));
  assert.deepEqual(health, [
    `vsphere_cluster_drs_score_bucket_vms{${id},bucket="0-20"} 0`,
    `vsphere_cluster_drs_score_bucket_vms{${id},bucket="21-40"} 1`,
    `vsphere_cluster_drs_score_bucket_vms{${id},bucket="41-60"} 2`,
    `vsphere_cluster_drs_score_bucket_vms{${id},bucket="61-80"} 10`,
    `vsphere_cluster_drs_score_bucket_vms{${id},bucket="81-100"} 37`,
    `vsphere_cluster_drs_score_ratio{${id}} 0.87`,
    `vsphere_cluster_ha_admission_control_enabled{${id}} 1`,
    `vsphere_cluster_ha_admission_control_policy{${id},policy="failover_hosts"} 0`,
    `vsphere_cluster_ha_admission_control_policy{${id},policy="host_failures"} 0`,
    `vsphere_cluster_ha_admission_control_policy{${id},policy="resource_percentage"} 1`,
    `vsphere_cluster_ha_configured_failover_level{${id}} 1`,
    `vsphere_cluster_ha_current_failover_level{${id}} 1`,
    `vsphere_cluster_ha_failover_cpu_available_ratio{${id}} 0.71`,
    `vsphere_cluster_ha_failover_cpu_reserved_ratio{${id}} 0.25`,
    `vsphere_cluster_ha_failover_memory_available_ratio{${id}} 0.18`,
    `vsphere_cluster_ha_failover_memory_reserved_ratio{${id}} 0.25`,
  ]);
});

test('cluster health: slot policy, admission control off, unknown policy kind; nothing made up when absent', async () => {
  const text = await collectText(
    clusterCollector,
    model([
      ...PARENTS,
      cluster('c-slot', 'Slots', {
        summary: typed(
          'ClusterComputeResourceSummary',
          '<currentFailoverLevel>0</currentFailoverLevel>' +
            `<admissionControlInfo ${XSI} xsi:type="ClusterFailoverLevelAdmissionControlInfo">` +
            '<currentFailoverLevel>0</currentFailoverLevel></admissionControlInfo>',
        ),
        'configuration.dasConfig.admissionControlEnabled': val('false'),
        'configuration.dasConfig.admissionControlPolicy': typed(
          'ClusterFailoverLevelAdmissionControlPolicy',
          '<failoverLevel>2</failoverLevel>',
        ),
      }),
      cluster('c-new', 'Future', {
        'configuration.dasConfig.admissionControlPolicy': typed('ClusterSomeFuturePolicy', '<x>1</x>'),
      }),
      // What vcsim answers: a summary without DRS/HA fields and an empty unset policy.
      cluster('c-sim', 'Sim', {
        summary: typed('ClusterComputeResourceSummary', '<numHosts>3</numHosts>'),
        'configuration.dasConfig.admissionControlPolicy': val(''),
      }),
    ]),
  );
  const slots = samples(text, 'vsphere_cluster_ha_').filter((l) => l.includes('c-slot'));
  assert.deepEqual(slots, [
    'vsphere_cluster_ha_admission_control_enabled{cluster="Slots",cluster_moid="c-slot"} 0',
    'vsphere_cluster_ha_admission_control_policy{cluster="Slots",cluster_moid="c-slot",policy="failover_hosts"} 0',
    'vsphere_cluster_ha_admission_control_policy{cluster="Slots",cluster_moid="c-slot",policy="host_failures"} 1',
    'vsphere_cluster_ha_admission_control_policy{cluster="Slots",cluster_moid="c-slot",policy="resource_percentage"} 0',
    'vsphere_cluster_ha_configured_failover_level{cluster="Slots",cluster_moid="c-slot"} 2',
    'vsphere_cluster_ha_current_failover_level{cluster="Slots",cluster_moid="c-slot"} 0',
  ]);
  // A subtype this code does not know is "other", never its own type name as a label.
  assert.match(text, /ha_admission_control_policy\{cluster="Future",cluster_moid="c-new",policy="other"\} 1/);
  assert.doesNotMatch(text, /ClusterSomeFuturePolicy/);
  assert.deepEqual(
    samples(text, 'vsphere_cluster_').filter((l) => l.includes('c-sim') && /drs_score|ha_/.test(l)),
    [],
  );
});

// The host collector asks the perf manager for counters even with no host to sample: an empty catalogue.
const hostsOnly: Collector = {
  ...hostCollector,
  collect: (ctx, emit) =>
    hostCollector.collect(
      { ...ctx, perf: { counters: () => Promise.resolve(new Map()) } } as unknown as CollectContext,
      emit,
    ),
};

const hw = (tag: string, name: string, key: string, type = 'HostHardwareElementInfo'): string =>
  `<${tag} ${XSI} xsi:type="${type}"><name>${name}</name><status ${XSI} xsi:type="ElementDescription">` +
  `<label>${key}</label><summary>s</summary><key>${key}</key></status></${tag}>`;
const pnic = (device: string, link: string): string =>
  `<PhysicalNic><key>key-vim.host.PhysicalNic-${device}</key><device>${device}</device><pci>0000:3b:00.0</pci>` +
  `<driver>i40en</driver>${link}<spec><linkSpeed><speedMb>1000</speedMb><duplex>false</duplex></linkSpeed></spec>` +
  `<mac>3c:fd:fe:00:00:01</mac></PhysicalNic>`;

test('host health: hardware element state sets per component, pNIC link, speed and duplex', async () => {
  const storage = Array.from({ length: MAX_ELEMENTS_PER_COMPONENT + 8 }, (_, i) =>
    hw('storageStatusInfo', `Disk ${i}`, 'Green', 'HostStorageElementInfo'),
  );
  const text = await collectText(
    hostsOnly,
    model([
      obj('HostSystem', 'host-10', {
        name: val('esx01'),
        'runtime.healthSystemRuntime.hardwareStatusInfo': typed(
          'HostHardwareStatusInfo',
          hw('memoryStatusInfo', 'Memory', 'Green') +
            hw('cpuStatusInfo', 'Proc 1', 'Yellow') +
            hw('cpuStatusInfo', 'Proc 1', 'Red') +
            hw('cpuStatusInfo', 'Proc 2', 'Purple') +
            hw('storageStatusInfo', 'Smart Array P440ar Controller', 'Red', 'HostStorageElementInfo') +
            storage.join(''),
        ),
        'config.network.pnic': typed(
          'ArrayOfPhysicalNic',
          pnic('vmnic0', '<linkSpeed><speedMb>25000</speedMb><duplex>true</duplex></linkSpeed>') +
            pnic('vmnic1', ''),
        ),
      }),
      obj('HostSystem', 'host-11', { name: val('esx02') }),
    ]),
  );
  const id = 'host="esx01",host_moid="host-10"';
  const status = samples(text, 'vsphere_host_hardware_status{').filter((l) => !l.includes('"Disk '));
  assert.deepEqual(
    status.filter((l) => l.endsWith(' 1')),
    [
      `vsphere_host_hardware_status{${id},component="cpu",name="Proc 1",state="red"} 1`,
      `vsphere_host_hardware_status{${id},component="cpu",name="Proc 2",state="unknown"} 1`,
      `vsphere_host_hardware_status{${id},component="memory",name="Memory",state="green"} 1`,
      `vsphere_host_hardware_status{${id},component="storage",name="Smart Array P440ar Controller",state="red"} 1`,
    ],
  );
  assert.equal(status.length, 4 * 4, 'four states per element; a repeated name once, with its worse status');
  const disks = samples(text, 'vsphere_host_hardware_status{').filter((l) => l.includes('"Disk '));
  assert.equal(disks.length, (MAX_ELEMENTS_PER_COMPONENT - 1) * 4, 'storage elements capped per host');
  assert.deepEqual(samples(text, 'vsphere_host_pnic_'), [
    `vsphere_host_pnic_full_duplex{${id},nic="vmnic0"} 1`,
    `vsphere_host_pnic_link_up{${id},nic="vmnic0"} 1`,
    `vsphere_host_pnic_link_up{${id},nic="vmnic1"} 0`,
    `vsphere_host_pnic_speed_bytes_per_second{${id},nic="vmnic0"} 3125000000`,
  ]);
  // A host whose properties were not answered has no health series at all.
  assert.doesNotMatch(text, /hardware_status\{host="esx02"|pnic_[a-z_]+\{host="esx02"/);
});
