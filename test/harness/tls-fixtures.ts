/**
 * A throwaway PKI made with the openssl command line, for tests of the exporter's own TLS: a CA, a
 * server certificate for localhost/127.0.0.1, a client certificate from the CA and one from another CA.
 */
import { execFileSync } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM file paths (and texts) of the test PKI. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCaCert: string;
  otherClientCert: string;
  otherClientKey: string;
  /** Issues another leaf certificate from the test CA as `<name>.crt`/`<name>.key` (`ext`: openssl extension lines). */
  issue(name: string, ext: string): { cert: string; key: string };
  /** Reads one of the files above. */
  read(file: string): string;
  /** Deletes the directory. */
  remove(): void;
}

/** Throws with a clear message if `openssl version` does not run. */
export function opensslVersion(): string {
  return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
}

function makeLeaf(dir: string, ca: string, name: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Creates the PKI in a new temporary directory. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'vsphere-exporter-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'ca', 'server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  makeLeaf(
    dir,
    'ca',
    'client',
    'subjectAltName=DNS:scraper.example,URI:spiffe://test/prometheus\nextendedKeyUsage=clientAuth',
  );
  makeLeaf(
    dir,
    'other-ca',
    'other-client',
    'subjectAltName=DNS:scraper.example\nextendedKeyUsage=clientAuth',
  );
  const f = (n: string) => join(dir, n);
  return {
    dir,
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCaCert: f('other-ca.crt'),
    otherClientCert: f('other-client.crt'),
    otherClientKey: f('other-client.key'),
    issue: (name, ext) => {
      makeLeaf(dir, 'ca', name, ext);
      return { cert: f(`${name}.crt`), key: f(`${name}.key`) };
    },
    read: (file) => readFileSync(file, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An HTTPS answer, with the serial number of the certificate the server presented. */
export interface HttpsGet {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  serverSerial: string;
}

/** Client side of httpsGet: which client certificate (default: the test CA's), basic auth, TLS limits. */
export interface HttpsGetOptions {
  client?: 'ours' | 'other' | 'none';
  auth?: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
}

/** GET https://127.0.0.1:port/path trusting the test CA, on a new connection (a full handshake) each time. */
export function httpsGet(
  pki: TestPki,
  port: number,
  path: string,
  o: HttpsGetOptions = {},
): Promise<HttpsGet> {
  return new Promise((resolve, reject) => {
    const client = o.client ?? 'ours';
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        ca: pki.read(pki.caCert),
        servername: 'localhost',
        ...(client === 'ours' && { cert: pki.read(pki.clientCert), key: pki.read(pki.clientKey) }),
        ...(client === 'other' && { cert: pki.read(pki.otherClientCert), key: pki.read(pki.otherClientKey) }),
        ...(o.auth !== undefined && { auth: o.auth }),
        ...(o.minVersion && { minVersion: o.minVersion }),
        ...(o.maxVersion && { maxVersion: o.maxVersion }),
        ...(o.ciphers && { ciphers: o.ciphers }),
      },
      (res) => {
        const serverSerial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, serverSerial }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
