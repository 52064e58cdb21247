import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ALLOW_ALL, type CollectContext } from '../../../src/collectors/collector.js';
import { decodeLicenses, keySuffix, licenseCollector } from '../../../src/collectors/license.js';
import { encodeFamilies, type MetricFamily } from '../../../src/exposition/index.js';
import { assembleInventory } from '../../../src/vsphere/inventory.js';
import { child, SoapXmlParser, type XmlNode } from '../../../src/vsphere/soap/xml.js';
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

async function scrape(val: XmlNode | undefined): Promise<string> {
  const inventory = assembleInventory([], {
    singletons: new Map(val ? [['LicenseManager', new Map([['licenses', val]])]] : []),
  });
  const fams: MetricFamily[] = [];
  const ctx = {
    inventory,
    filter: ALLOW_ALL,
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
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
});
