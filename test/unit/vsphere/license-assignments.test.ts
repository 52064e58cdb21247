import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { VimClient } from '../../../src/vsphere/client.js';
import { LicenseAssignments } from '../../../src/vsphere/license-assignments.js';
import { assignmentId } from '../../../src/vsphere/license-key.js';
import { VsphereError } from '../../../src/vsphere/errors.js';
import { SoapXmlParser, type StreamSpec } from '../../../src/vsphere/soap/xml.js';

const ENT = 'AB12C-DE34F-GH56J-KL78M-NP9QR';
const EVAL = '00000-00000-00000-00000-00000';
const LAM = { type: 'LicenseAssignmentManager', value: 'LicenseAssignmentManager' };

const assignment = (entity: string, key: string, edition: string): string =>
  `<returnval><entityId>${entity}</entityId><entityDisplayName>${entity}</entityDisplayName><assignedLicense>` +
  `<licenseKey>${key}</licenseKey><editionKey>${edition}</editionKey><name>n</name><total>0</total>` +
  '<properties><key>feature</key><value xsi:type="KeyValue"><key>dvs</key><value>DVS</value></value></properties>' +
  '</assignedLicense></returnval>';

// A client answering QueryAssignedLicenses with `body` through the real parser, streaming as the transport does.
function fakeClient(body: () => string) {
  const calls: string[] = [];
  const client = {
    invoke(method: string, self: { value: string }, _b: string, _s?: AbortSignal, stream?: StreamSpec) {
      calls.push(`${method}:${self.value}`);
      const xml =
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
        `<QueryAssignedLicensesResponse xmlns="urn:vim25">${body()}</QueryAssignedLicensesResponse>` +
        '</soapenv:Body></soapenv:Envelope>';
      const p = new SoapXmlParser(stream);
      p.write(Buffer.from(xml));
      p.close();
      return Promise.resolve({ name: 'QueryAssignedLicensesResponse', attrs: {}, children: [], text: '' });
    },
  };
  return { client: client as unknown as VimClient, calls };
}

test('counts assets per key suffix and edition, reads at most once per interval, keeps no key', async () => {
  let now = 1_000_000;
  let answer =
    assignment('vc-uuid', EVAL, 'eval') +
    assignment('host-1', ENT, 'esx.enterprisePlus.cpuPackage') +
    assignment('host-2', ENT, 'esx.enterprisePlus.cpuPackage');
  const { client, calls } = fakeClient(() => answer);
  const src = new LicenseAssignments(client, pino({ level: 'silent' }), 300_000, 60_000, () => now);
  const counts = await src.counts(LAM);
  assert.deepEqual(
    [...counts!],
    [
      [assignmentId('00000', 'eval'), 1],
      [assignmentId('NP9QR', 'esx.enterprisePlus.cpuPackage'), 2],
    ],
  );
  assert.ok(!JSON.stringify([...counts!]).includes(ENT), 'no full key is kept');
  assert.deepEqual(calls, ['QueryAssignedLicenses:LicenseAssignmentManager']);
  // Within the interval: the same counts, no call, whatever changed on vCenter.
  answer += assignment('host-3', ENT, 'esx.enterprisePlus.cpuPackage');
  now += 299_000;
  assert.equal(await src.counts(LAM), counts);
  assert.equal(calls.length, 1);
  now += 1_000;
  const later = await src.counts(LAM);
  assert.equal(later!.get(assignmentId('NP9QR', 'esx.enterprisePlus.cpuPackage')), 3);
  assert.equal(calls.length, 2);
});

test('concurrent collections share one read', async () => {
  const { client, calls } = fakeClient(() => assignment('host-1', ENT, 'e'));
  const src = new LicenseAssignments(client, pino({ level: 'silent' }));
  const [a, b] = await Promise.all([src.counts(LAM), src.counts(LAM)]);
  assert.equal(a, b);
  assert.equal(calls.length, 1);
});

test('a failed read gives the last counts (none at first), is said once per cause and retried after retryMs', async () => {
  let now = 0;
  let fail = true;
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
  const { client: ok, calls } = fakeClient(() => assignment('host-1', ENT, 'e'));
  const client = {
    invoke: (...args: Parameters<VimClient['invoke']>) =>
      fail
        ? Promise.reject(
            new VsphereError('VSPHERE_FAULT', 'Permission to perform this operation was denied.'),
          )
        : ok.invoke(...args),
  } as unknown as VimClient;
  const src = new LicenseAssignments(client, logger, 300_000, 60_000, () => now);
  assert.equal(await src.counts(LAM), undefined);
  now += 30_000;
  assert.equal(await src.counts(LAM), undefined, 'not retried before retryMs');
  now += 30_000;
  assert.equal(await src.counts(LAM), undefined, 'retried, failed again');
  assert.equal(lines.length, 1, 'one warning for one cause');
  assert.match(lines[0]!, /QueryAssignedLicenses failed/);
  fail = false;
  now += 60_000;
  assert.equal((await src.counts(LAM))!.get(assignmentId('NP9QR', 'e')), 1);
  assert.equal(calls.length, 1);
});

test('a LicenseAssignmentManager the endpoint does not have is asked once per interval, at debug level', async () => {
  let now = 0;
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
  let asked = 0;
  const client = {
    invoke: () => {
      asked++;
      return Promise.reject(new VsphereError('VSPHERE_MANAGED_OBJECT_NOT_FOUND', 'managed object not found'));
    },
  } as unknown as VimClient;
  const src = new LicenseAssignments(client, logger, 300_000, 60_000, () => now);
  assert.equal(await src.counts(LAM), undefined);
  now += 299_000;
  assert.equal(await src.counts(LAM), undefined);
  assert.equal(asked, 1, 'not retried within the interval');
  now += 1_000;
  await src.counts(LAM);
  assert.equal(asked, 2);
  assert.deepEqual(lines, [], 'no warning');
});
