import type { XmlNode } from '../vsphere/answer-data.js';
import { assignmentId, keySuffix } from '../vsphere/license-key.js';
import { epochSeconds, moRef, num } from '../vsphere/values.js';
import type { CollectContext, Collector } from './collector.js';
import { family, gauge } from './collector.js';

export { keySuffix } from '../vsphere/license-key.js';

const ID = ['license_key_suffix', 'edition'] as const;

const INFO = gauge(
  'vsphere_license_info',
  'A licence vCenter holds (LicenseManager.licenses): license_key_suffix is the last 5 characters of its key (the key itself is never exported), name, editionKey, ProductName/ProductVersion properties and costUnit; value is always 1.',
  [...ID, 'name', 'product', 'product_version', 'cost_unit'],
);
const CAPACITY = gauge(
  'vsphere_license_capacity',
  'Units the licence covers (LicenseManagerLicenseInfo.total), in its unit (costUnit: cpuPackage, core, vm, server...); 0 for an evaluation licence, which has no fixed capacity.',
  [...ID, 'unit'],
);
const USED = gauge(
  'vsphere_license_used',
  'Units of the licence in use (LicenseManagerLicenseInfo.used), in its unit (costUnit); absent when vCenter does not report it.',
  [...ID, 'unit'],
);
const ASSIGNED = gauge(
  'vsphere_license_assigned_assets',
  'Assets (vCenter instances, hosts, vSAN clusters, solutions) the licence is assigned to: entries of LicenseAssignmentManager.QueryAssignedLicenses per licence, read at most every 5 minutes; absent where the endpoint has no LicenseAssignmentManager or the read failed.',
  ID,
);
const EXPIRATION = gauge(
  'vsphere_license_expiration_timestamp_seconds',
  'Unix time the licence expires (its expirationDate property); absent for a licence that does not expire.',
  ID,
);

/** One licence as exported: never its key, only the key's last five characters. */
export interface LicenseSummary {
  keySuffix: string;
  edition: string;
  name: string;
  product: string;
  productVersion: string;
  costUnit: string;
  total?: number;
  used?: number;
  expirationSeconds?: number;
}

/** LicenseManager.licenses (ArrayOfLicenseManagerLicenseInfo) → one summary per licence; the keys are dropped here. */
export function decodeLicenses(val: XmlNode | undefined): LicenseSummary[] {
  const out: LicenseSummary[] = [];
  for (const info of val?.children ?? []) {
    if (info.name !== 'LicenseManagerLicenseInfo') continue;
    const text = (name: string): string => info.children.find((c) => c.name === name)?.text.trim() ?? '';
    const number = (name: string): number | undefined => num(info.children.find((c) => c.name === name));
    const props = licenseProperties(info);
    out.push({
      keySuffix: keySuffix(text('licenseKey')),
      edition: text('editionKey'),
      name: text('name'),
      product: props.get('ProductName')?.text.trim() ?? '',
      productVersion: props.get('ProductVersion')?.text.trim() ?? '',
      costUnit: text('costUnit'),
      total: number('total'),
      used: number('used'),
      expirationSeconds: epochSeconds(props.get('expirationDate')),
    });
  }
  return out;
}

// properties[] is KeyAnyValue: key → value element. Keys are vCenter's data, so a Map (a key
// "__proto__" is just a key); the first of a repeated key wins ("feature" repeats, per feature).
function licenseProperties(info: XmlNode): Map<string, XmlNode> {
  const out = new Map<string, XmlNode>();
  for (const p of info.children) {
    if (p.name !== 'properties') continue;
    const key = p.children.find((c) => c.name === 'key')?.text.trim();
    const value = p.children.find((c) => c.name === 'value');
    if (key !== undefined && value && !out.has(key)) out.set(key, value);
  }
  return out;
}

/**
 * Licences (LicenseManager.licenses): read with the inventory model as a ServiceContent singleton,
 * so the watch keeps them and a scrape costs no call; the assets each is assigned to come from
 * ctx.licenseAssignments, which calls vCenter at most once per interval.
 */
export const licenseCollector: Collector = {
  name: 'license',
  properties: [{ type: 'LicenseManager', pathSet: ['licenses', 'licenseAssignmentManager'] }],
  families: [INFO, CAPACITY, USED, ASSIGNED, EXPIRATION],
  async collect(ctx: CollectContext, emit): Promise<void> {
    const [info, capacity, used, assigned, expiration] = [INFO, CAPACITY, USED, ASSIGNED, EXPIRATION].map(
      family,
    );
    const manager = ctx.inventory.singleton('LicenseManager');
    // An endpoint without a LicenseAssignmentManager (ServiceContent leaves it unset): nothing is asked.
    const lam = moRef(manager?.get('licenseAssignmentManager'));
    const counts = lam && (await ctx.licenseAssignments?.counts(lam, ctx.signal));
    const seen = new Set<string>();
    for (const l of decodeLicenses(manager?.get('licenses'))) {
      const id = [l.keySuffix, l.edition];
      // Two licences whose keys end alike with one edition would be one series: the first stays.
      const idKey = assignmentId(l.keySuffix, l.edition);
      if (seen.has(idKey)) continue;
      seen.add(idKey);
      info!.add([...id, l.name, l.product, l.productVersion, l.costUnit], 1);
      if (l.total !== undefined) capacity!.add([...id, l.costUnit], l.total);
      if (l.used !== undefined) used!.add([...id, l.costUnit], l.used);
      // A licence assigned to nothing is not in the answer: it counts 0.
      if (counts) assigned!.add(id, counts.get(idKey) ?? 0);
      if (l.expirationSeconds !== undefined) expiration!.add(id, l.expirationSeconds);
    }
    for (const f of [info, capacity, used, assigned, expiration]) emit(f!);
  },
};
