/**
 * The session check's request names the SessionManager vCenter gave, escaped as every other moref:
 * a moid with `&` or `<` must still make well-formed XML, or the check faults and recovery stalls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sessionAlive } from '../../../src/vsphere/session-check.js';
import type { ServiceContent } from '../../../src/vsphere/service-content.js';
import type { SoapBody } from '../../../src/vsphere/soap/envelope.js';
import type { SoapTransport } from '../../../src/vsphere/soap/transport.js';
import { child, parseXml } from '../../../src/vsphere/soap/xml.js';
import { bodyText } from '../../harness/soap-body.js';

test('sessionAlive: a SessionManager moid with XML metacharacters is sent escaped, and read back as sent', async () => {
  const sent: string[] = [];
  const transport = {
    call: (_method: string, _self: unknown, body: SoapBody) => {
      sent.push(bodyText(body));
      return Promise.resolve(
        parseXml(
          '<R><returnval><objects><propSet><name>currentSession</name></propSet></objects></returnval></R>',
        ),
      );
    },
  } as unknown as SoapTransport;
  const content = {
    propertyCollector: { type: 'PropertyCollector', value: 'propertyCollector' },
    sessionManager: { type: 'SessionManager', value: 'Session<Manager>&"x"' },
  } as unknown as ServiceContent;
  assert.equal(await sessionAlive(transport, content), true);
  const spec = parseXml(`<r>${sent[0]!}</r>`);
  const obj = child(child(child(spec, 'specSet')!, 'objectSet')!, 'obj')!;
  assert.equal(obj.attrs.type, 'SessionManager');
  assert.equal(obj.text, 'Session<Manager>&"x"');
});
