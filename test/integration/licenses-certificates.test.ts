/**
 * Licences and certificates against the simulators over TLS, compared with what a raw SOAP client
 * (no code shared with the exporter) and the harness's own certificate files say.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type ExporterProcess } from '../harness/exporter.js';
import { find, parsePrometheusText, type Sample } from '../harness/prom-text.js';
import { makeTestPki, type TestPki } from '../harness/tls-fixtures.js';
import { rawLogin, startVcsim, type Vcsim } from '../harness/vcsim.js';
import { startVcsim8, vcsim8SkipReason, withRaw, type Vcsim8 } from '../harness/vcsim8.js';
import { allTags, firstTag, refXml, xmlUnescape, type RawVimClient } from '../harness/vim-soap.js';

/** LicenseManager.licenses as the raw client reads it: key, edition, name, total, costUnit, ProductName. */
async function rawLicenses(c: RawVimClient): Promise<Record<string, string>[]> {
  const sc = await c.call(
    'RetrieveServiceContent',
    refXml('_this', { type: 'ServiceInstance', value: 'ServiceInstance' }),
  );
  const lm = /<licenseManager type="LicenseManager">([^<]*)</.exec(sc)?.[1];
  assert.ok(lm, 'ServiceContent names a LicenseManager');
  const { propertyCollector } = await c.serviceContent();
  const xml = await c.call(
    'RetrievePropertiesEx',
    refXml('_this', propertyCollector) +
      '<specSet><propSet><type>LicenseManager</type><pathSet>licenses</pathSet></propSet>' +
      `<objectSet>${refXml('obj', { type: 'LicenseManager', value: lm })}</objectSet></specSet><options/>`,
  );
  return allTags(xml, 'LicenseManagerLicenseInfo').map((l) => {
    const product = /<key>ProductName<\/key>\s*<value[^>]*>([^<]*)</.exec(l)?.[1] ?? '';
    const field = (t: string): string => xmlUnescape(firstTag(l, t) ?? '');
    return {
      key: field('licenseKey'),
      edition: field('editionKey'),
      name: field('name'),
      total: field('total'),
      costUnit: field('costUnit'),
      product: xmlUnescape(product),
    };
  });
}

/** Every host's config.certificate, decoded from its <byte> elements by the test itself: moid → PEM. */
async function rawHostCertificates(c: RawVimClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const h of await c.retrieveAll('HostSystem', ['config.certificate'])) {
    const bytes = [...(h.props['config.certificate'] ?? '').matchAll(/<byte>(-?\d+)<\/byte>/g)].map(
      (m) => Number(m[1]) & 0xff,
    );
    out.set(h.moid, Buffer.from(bytes).toString('latin1'));
  }
  return out;
}

function assertLicences(samples: Sample[], raw: Record<string, string>[]): void {
  assert.ok(raw.length > 0, 'the simulator has a licence');
  const info = find(samples, 'vsphere_license_info');
  assert.equal(info.length, raw.length);
  for (const r of raw) {
    const suffix = r.key!.slice(-5);
    const mine = info.find((s) => s.labels.edition === r.edition);
    assert.deepEqual(mine?.labels, {
      license_key_suffix: suffix,
      edition: r.edition,
      name: r.name,
      product: r.product,
      product_version: mine?.labels.product_version ?? '',
      cost_unit: r.costUnit,
    });
    const cap = find(samples, 'vsphere_license_capacity').find((s) => s.labels.edition === r.edition);
    assert.equal(cap?.value, Number(r.total));
    assert.equal(cap?.labels.unit, r.costUnit);
  }
}

/** No full licence key anywhere the exporter shows or writes text: scrape, status page, logs. */
async function assertNoKey(e: ExporterProcess, scrapeText: string, keys: string[]): Promise<void> {
  const status = await e.scrape('/');
  const logs = JSON.stringify(e.logs);
  for (const key of keys) {
    assert.ok(key.length > 5);
    for (const [where, text] of [
      ['scrape', scrapeText],
      ['status page', status.text],
      ['logs', logs],
    ] as const)
      assert.ok(!text.includes(key), `${where} holds no full licence key`);
  }
}

function assertTargetCertificate(samples: Sample[], pem: string): void {
  const truth = new X509Certificate(pem);
  assert.equal(
    find(samples, 'vsphere_target_certificate_expiry_timestamp_seconds')[0]?.value,
    Date.parse(truth.validTo) / 1000,
  );
  assert.deepEqual(find(samples, 'vsphere_target_certificate_info')[0]?.labels, {
    subject: 'CN=server',
    issuer: 'CN=ca',
    serial_number: truth.serialNumber,
    sha256_fingerprint: truth.fingerprint256,
  });
}

void describe('licences and certificates', { timeout: 240_000 }, () => {
  let pki: TestPki;
  let dir: string;
  const running: { stop(): Promise<unknown> }[] = [];
  before(() => {
    pki = makeTestPki();
    dir = mkdtempSync(join(tmpdir(), 'vsx-lic-'));
  });
  after(async () => {
    for (const r of running.reverse()) await r.stop();
    pki.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const exporterFor = async (vc: Vcsim | Vcsim8, args: string[] = []): Promise<ExporterProcess> => {
    const pw = join(dir, 'password');
    writeFileSync(pw, `${vc.password}\n`, { mode: 0o600 });
    const e = await startExporter({
      env: {
        VSPHERE_URL: vc.url,
        VSPHERE_USER: vc.user,
        VSPHERE_PASSWORD_FILE: pw,
        VSPHERE_CA_FILE: pki.caCert,
      },
      args: ['--log.level=debug', ...args],
    });
    running.push(e);
    return e;
  };

  test('vcsim 0.24 over TLS: licences as the raw client reads them, vCenter certificate as the harness made it, no key shown', async () => {
    const vc = await startVcsim({ args: ['-tls-cert', pki.serverCert, '-tls-key', pki.serverKey] });
    running.push(vc);
    assert.match(vc.url, /^https:/);
    const e = await exporterFor(vc);
    const res = await e.scrape();
    assert.equal(res.status, 200);
    const { samples } = parsePrometheusText(res.text);
    const raw = await (async () => {
      const s = await rawLogin(vc);
      try {
        return await rawLicenses(s.client);
      } finally {
        await s.logout();
      }
    })();
    assertLicences(samples, raw);
    assertTargetCertificate(samples, pki.read(pki.serverCert));
    for (const name of ['license', 'certificate'])
      assert.equal(
        find(samples, 'vsphere_collector_success').find((s) => s.labels.collector === name)?.value,
        1,
      );
    // vcsim 0.24's hosts have a one-byte certificate: no series, and no failure.
    assert.equal(find(samples, 'vsphere_host_certificate_info').length, 0);
    await assertNoKey(
      e,
      res.text,
      raw.map((r) => r.key!),
    );
  });

  test(
    'incremental mode: licences and host certificates come from the watch, a scrape calls nothing else',
    { skip: vcsim8SkipReason() },
    async (t) => {
      const vc = await startVcsim8({
        tls: { cert: pki.serverCert, key: pki.serverKey },
        args: ['-host', '2'],
      });
      running.push(vc);
      // Only the two collectors under test, so every call counted is made for them.
      const others = ['vm', 'host', 'cluster', 'datastore', 'resource_pool', 'datacenter', 'alarm'];
      const e = await exporterFor(
        vc,
        others.map((c) => `--no-collector.${c}`),
      );
      const calls = async (): Promise<{ samples: Sample[]; byMethod: Map<string, number> }> => {
        const res = await e.scrape();
        assert.equal(res.status, 200);
        const { samples } = parsePrometheusText(res.text);
        const byMethod = new Map<string, number>();
        for (const s of find(samples, 'vsphere_soap_requests_total'))
          byMethod.set(s.labels.method!, (byMethod.get(s.labels.method!) ?? 0) + s.value);
        return { samples, byMethod };
      };
      await calls();
      const second = await calls();
      const third = await calls();
      const delta = [...third.byMethod]
        .filter(([m, n]) => n !== (second.byMethod.get(m) ?? 0))
        .map(([m]) => m);
      t.diagnostic(`methods called by the third scrape: ${delta.join(', ')}`);
      assert.deepEqual(delta, ['WaitForUpdatesEx']);
      // The assigned assets are read once per 5-minute interval: by the first scrape only.
      assert.equal(third.byMethod.get('QueryAssignedLicenses'), 1);
      assert.equal(find(third.samples, 'vsphere_license_assigned_assets').length, 1);
      assert.equal(find(third.samples, 'vsphere_license_info').length, 1);
      assert.ok(find(third.samples, 'vsphere_host_certificate_expiry_timestamp_seconds').length > 0);
    },
  );

  test(
    'vSphere 8 simulator over TLS: host certificates as config.certificate decodes, licences',
    { skip: vcsim8SkipReason() },
    async () => {
      const vc = await startVcsim8({
        tls: { cert: pki.serverCert, key: pki.serverKey },
        args: ['-host', '2'],
      });
      running.push(vc);
      const e = await exporterFor(vc);
      const res = await e.scrape();
      assert.equal(res.status, 200);
      const { samples } = parsePrometheusText(res.text);
      const raw = await withRaw(vc, rawLicenses);
      assertLicences(samples, raw);
      assertTargetCertificate(samples, pki.read(pki.serverCert));
      const pems = await withRaw(vc, rawHostCertificates);
      const expiry = find(samples, 'vsphere_host_certificate_expiry_timestamp_seconds');
      const certs = [...pems].filter(([, pem]) => pem.includes('BEGIN CERTIFICATE'));
      assert.ok(certs.length > 0, 'vcsim 8 hosts carry a certificate');
      assert.equal(expiry.length, certs.length);
      for (const [moid, pem] of certs) {
        const truth = new X509Certificate(pem);
        const mine = expiry.find((s) => s.labels.host_moid === moid);
        assert.equal(mine?.value, Date.parse(truth.validTo) / 1000, moid);
        const info = find(samples, 'vsphere_host_certificate_info').find((s) => s.labels.host_moid === moid);
        assert.equal(info?.labels.serial_number, truth.serialNumber);
      }
      await assertNoKey(
        e,
        res.text,
        raw.map((r) => r.key!),
      );
    },
  );
});
