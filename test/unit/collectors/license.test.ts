import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ALLOW_ALL, type CollectContext } from '../../../src/collectors/collector.js';
import { decodeLicenses, keySuffix, licenseCollector } from '../../../src/collectors/license.js';
import { encodeFamilies, type MetricFamily } from '../../../src/exposition/index.js';
import { assembleInventory } from '../../../src/vsphere/inventory.js';
import { child, parseXml, SoapXmlParser, type XmlNode } from '../../../src/vsphere/soap/xml.js';
import type { LicenseAssignmentSource } from '../../../src/vsphere/license-assignments.js';
import { assignmentId } from '../../../src/vsphere/license-key.js';
import { find, parsePrometheusText } from '../../harness/prom-text.js';

const KEY = 'AB12C-DE34F-GH56J-KL78M-NP9QR';

/** A `<val>` of LicenseManager.licenses as vCenter sends it, parsed by the real parser. */
function licensesVal(infos: string): XmlNode {
  const xml =
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body>' +
    `<val xsi:type="ArrayOfLicenseManagerLicenseInfo">${infos}</val></soapenv:Body></soapenv:Envelope>`;
  const p = new SoapXmlParser();
  p.write(Buffer.from(xml));
  return child(p.close(), 'Body')!.children[0]!;
}

const prop = (key: string, value: string, type = 'xsd:string'): string =>
  `<properties><key>${key}</key><value xsi:type="${type}">${value}</value></properties>`;

const ENTERPRISE =
  `<LicenseManagerLicenseInfo><licenseKey>${KEY}</licenseKey><editionKey>esx.enterprisePlus.cpuPackage</editionKey>` +
  '<name>VMware vSphere 8 Enterprise Plus</name><total>16</total><used>18</used><costUnit>cpuPackage</costUnit>' +
  prop('ProductName', 'VMware ESX Server') +
  prop('ProductVersion', '8.0') +
  prop('expirationDate', '2027-01-15T00:00:00Z', 'xsd:dateTime') +
  '<properties><key>feature</key><value xsi:type="KeyValue"><key>dvs</key><value>vSphere Distributed Switch</value></value></properties>' +
  '</LicenseManagerLicenseInfo>';

const LAM_REF = parseXml('<val type="LicenseAssignmentManager">LicenseAssignmentManager</val>');

async function scrape(
  val: XmlNode | undefined,
  assignments?: { counts: LicenseAssignmentSource['counts']; lam?: boolean },
): Promise<string> {
  const props = new Map<string, XmlNode>(val ? [['licenses', val]] : []);
  if (assignments?.lam !== false) props.set('licenseAssignmentManager', LAM_REF);
  const inventory = assembleInventory([], {
    singletons: new Map(val ? [['LicenseManager', props]] : []),
  });
  const fams: MetricFamily[] = [];
  const ctx = {
    inventory,
    filter: ALLOW_ALL,
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
    ...(assignments ? { licenseAssignments: { counts: assignments.counts } } : {}),
  } as unknown as CollectContext;
  await licenseCollector.collect(ctx, (f) => fams.push(f));
  return encodeFamilies(fams).toString();
}

void describe('licence decoder and collector', () => {
  void it('keeps only the last five characters of a key, and none of a key too short to hide', () => {
    assert.equal(keySuffix(KEY), 'NP9QR');
    assert.equal(keySuffix('ABCDEF'), '');
    assert.equal(keySuffix(''), '');
  });

  void it('decodes capacity, use, unit, product and expiry of each licence', () => {
    const [l] = decodeLicenses(licensesVal(ENTERPRISE));
    assert.deepEqual(l, {
      keySuffix: 'NP9QR',
      edition: 'esx.enterprisePlus.cpuPackage',
      name: 'VMware vSphere 8 Enterprise Plus',
      product: 'VMware ESX Server',
      productVersion: '8.0',
      costUnit: 'cpuPackage',
      total: 16,
      used: 18,
      expirationSeconds: Date.parse('2027-01-15T00:00:00Z') / 1000,
    });
  });

  void it('exports the families and never the full key', async () => {
    const text = await scrape(licensesVal(ENTERPRISE));
    assert.ok(!text.includes(KEY) && !text.includes('KL78M'), 'no part of the key but its last group');
    const { samples } = parsePrometheusText(text);
    const id = { license_key_suffix: 'NP9QR', edition: 'esx.enterprisePlus.cpuPackage' };
    assert.deepEqual(find(samples, 'vsphere_license_capacity')[0]?.labels, { ...id, unit: 'cpuPackage' });
    assert.equal(find(samples, 'vsphere_license_capacity')[0]?.value, 16);
    assert.equal(find(samples, 'vsphere_license_used')[0]?.value, 18);
    assert.equal(
      find(samples, 'vsphere_license_expiration_timestamp_seconds')[0]?.value,
      Date.parse('2027-01-15T00:00:00Z') / 1000,
    );
    assert.equal(find(samples, 'vsphere_license_info')[0]?.labels.product, 'VMware ESX Server');
  });

  void it('treats a property key "__proto__" as data and one odd licence as just that licence', async () => {
    const hostile =
      '<LicenseManagerLicenseInfo><licenseKey>x</licenseKey><editionKey>odd</editionKey><name>Odd</name>' +
      '<total>not-a-number</total><costUnit></costUnit>' +
      prop('__proto__', 'polluted') +
      prop('constructor', 'x') +
      prop('expirationDate', 'never', 'xsd:dateTime') +
      prop('ProductName', 'Hostile') +
      '</LicenseManagerLicenseInfo>';
    const list = decodeLicenses(licensesVal(hostile + ENTERPRISE));
    assert.equal(list.length, 2);
    assert.equal(list[0]?.product, 'Hostile');
    assert.equal(list[0]?.keySuffix, '', 'a one-character key is not shown at all');
    assert.equal(list[0]?.total, undefined);
    assert.equal(list[0]?.expirationSeconds, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    const { samples } = parsePrometheusText(await scrape(licensesVal(hostile + ENTERPRISE)));
    assert.equal(find(samples, 'vsphere_license_info').length, 2);
    assert.equal(find(samples, 'vsphere_license_capacity').length, 1, 'the odd one has no capacity');
  });

  void it('emits one series per suffix and edition when two licences collide', async () => {
    const { samples } = parsePrometheusText(await scrape(licensesVal(ENTERPRISE + ENTERPRISE)));
    assert.equal(find(samples, 'vsphere_license_info').length, 1);
  });

  void it('emits empty families when the endpoint has no LicenseManager', async () => {
    const { samples } = parsePrometheusText(await scrape(undefined));
    assert.equal(find(samples, 'vsphere_license_info').length, 0);
  });

  void it('counts assigned assets per licence from the injected source, 0 for a licence assigned to nothing', async () => {
    const EVAL =
      '<LicenseManagerLicenseInfo><licenseKey>00000-00000-00000-00000-00000</licenseKey><editionKey>eval</editionKey>' +
      '<name>Evaluation Mode</name><total>0</total></LicenseManagerLicenseInfo>';
    const asked: string[] = [];
    const counts: LicenseAssignmentSource['counts'] = (manager) => {
      asked.push(manager.value);
      return Promise.resolve(new Map([[assignmentId('NP9QR', 'esx.enterprisePlus.cpuPackage'), 7]]));
    };
    const { samples } = parsePrometheusText(await scrape(licensesVal(ENTERPRISE + EVAL), { counts }));
    assert.deepEqual(asked, ['LicenseAssignmentManager'], 'the manager named by LicenseManager is asked');
    const assigned = find(samples, 'vsphere_license_assigned_assets');
    assert.deepEqual(
      assigned.map((s) => [s.labels.license_key_suffix, s.labels.edition, s.value]),
      [
        ['NP9QR', 'esx.enterprisePlus.cpuPackage', 7],
        ['00000', 'eval', 0],
      ],
    );
  });

  void it('asks nothing and exports no count without a LicenseAssignmentManager or when the read failed', async () => {
    let asked = 0;
    const counts: LicenseAssignmentSource['counts'] = () => {
      asked++;
      return Promise.resolve(undefined);
    };
    const none = parsePrometheusText(await scrape(licensesVal(ENTERPRISE), { counts, lam: false }));
    assert.equal(asked, 0, 'no LicenseAssignmentManager (a standalone ESXi): no call');
    assert.equal(find(none.samples, 'vsphere_license_assigned_assets').length, 0);
    const failed = parsePrometheusText(await scrape(licensesVal(ENTERPRISE), { counts }));
    assert.equal(asked, 1);
    assert.equal(find(failed.samples, 'vsphere_license_assigned_assets').length, 0);
    assert.equal(find(failed.samples, 'vsphere_license_info').length, 1, 'the other families stay');
  });
});
