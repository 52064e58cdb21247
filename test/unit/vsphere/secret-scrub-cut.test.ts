/** A password that vCenter echoes across the point where a fault string is cut leaves no prefix. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Secret } from '../../../src/config/secret.js';
import { ScrubbingSoapTransport, SecretScrubber } from '../../../src/vsphere/secret-scrub.js';
import { isVsphereError } from '../../../src/vsphere/errors.js';

const PASSWORD = 'Zq9-very-long-password-Xk2';
let server: Server;
let url: URL;

before(async () => {
  // The password starts at character 290 of the fault string: a cut at 300 keeps its first ten.
  const faultString = `${'x'.repeat(289)} ${PASSWORD} (echoed request)`;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'Content-Type': 'text/xml' });
      res.end(
        `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
          `<soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode>` +
          `<faultstring>${faultString}</faultstring><detail/></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`);
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a fault string is scrubbed before it is cut: no prefix of the password survives the cut', async () => {
  const scrubber = new SecretScrubber();
  scrubber.remember(new Secret(PASSWORD));
  const transport = new ScrubbingSoapTransport(
    {
      url,
      maxConnections: 1,
      connectTimeoutMs: 5000,
      requestTimeoutMs: 5000,
      maxResponseBytes: 1024 * 1024,
      insecureSkipVerify: false,
    },
    scrubber,
  );
  try {
    const e = await transport.call('Login', { type: 'SessionManager', value: 'SessionManager' }, '<x/>').then(
      () => assert.fail('the fault was not thrown'),
      (err: unknown) => err,
    );
    assert.ok(isVsphereError(e, 'VSPHERE_FAULT'), String(e));
    const message = (e as Error).message;
    for (let n = 3; n <= PASSWORD.length; n++) {
      assert.ok(
        !message.includes(PASSWORD.slice(0, n)),
        `the first ${n} characters of the password are in: ${message}`,
      );
    }
    assert.match(message, /<secret>/);
  } finally {
    await transport.close();
  }
});

test('a fault string echoing the session cookie it was sent is scrubbed of the cookie value', async () => {
  const token = '52a3f0c4-9e1d-4b5a-8c1e-3f2d6a7b8c9d';
  const echo = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const envelope = (body: string): string =>
        `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
      if (!req.headers.cookie) {
        res.writeHead(200, {
          'Content-Type': 'text/xml',
          'Set-Cookie': `vmware_soap_session="${token}"; Path=/; HttpOnly; Secure;`,
        });
        res.end(envelope('<LoginResponse><returnval/></LoginResponse>'));
        return;
      }
      res.writeHead(500, { 'Content-Type': 'text/xml' });
      res.end(
        envelope(
          `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>proxy error for request with Cookie: ${req.headers.cookie}</faultstring><detail/></soapenv:Fault>`,
        ),
      );
    });
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const transport = new ScrubbingSoapTransport(
    {
      url: new URL(`http://127.0.0.1:${(echo.address() as AddressInfo).port}/sdk`),
      maxConnections: 1,
      connectTimeoutMs: 5000,
      requestTimeoutMs: 5000,
      maxResponseBytes: 1024 * 1024,
      insecureSkipVerify: false,
    },
    new SecretScrubber(),
  );
  try {
    const sm = { type: 'SessionManager', value: 'SessionManager' };
    await transport.call('Login', sm, '<x/>', { captureCookie: true });
    assert.ok(transport.hasSession);
    const e = await transport.call('CurrentTime', sm, '<x/>').then(
      () => assert.fail('the fault was not thrown'),
      (err: unknown) => err,
    );
    const message = (e as Error).message;
    assert.match(message, /Cookie: vmware_soap_session=/, 'the echo reached the error');
    assert.ok(!message.includes(token.slice(0, 8)), message);
    assert.match(message, /<secret>/);
  } finally {
    await transport.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
});

test('SecretScrubber: the REST session id stays scrubbed however often the SOAP session logs in again', () => {
  const scrubber = new SecretScrubber();
  const rest = 'f3a1c2d4e5b6a7980112233445566778';
  scrubber.rememberToken('rest', rest);
  for (let i = 0; i < 3; i++) scrubber.rememberToken('soap', `"52a3f0c4-9e1d-4b5a-8c1e-00000000000${i}"`);
  const text = scrubber.text(`rest ${rest}, soap 52a3f0c4-9e1d-4b5a-8c1e-000000000002 and -000000000001`);
  assert.ok(!text.includes(rest), text);
  assert.ok(!text.includes('52a3f0c4-9e1d-4b5a-8c1e-000000000002'), 'the current cookie, unquoted');
  assert.match(text, /<secret>, soap <secret> and/);
  // Short tokens are not remembered: masking them would mangle ordinary text.
  scrubber.rememberToken('soap', 'abc');
  assert.equal(scrubber.text('abc'), 'abc');
});
