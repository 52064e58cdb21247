import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { certificateBytes, hostCertificate } from '../../../src/collectors/certificate.js';
import { certificateInfo } from '../../../src/vsphere/certificate-info.js';
import { child, SoapXmlParser, type XmlNode } from '../../../src/vsphere/soap/xml.js';
import { compactByteArray } from '../../../src/vsphere/values.js';
import { makeTestPki, type TestPki } from '../../harness/tls-fixtures.js';

const node = (name: string, text: string, children: XmlNode[] = []): XmlNode => ({
  name,
  attrs: {},
  children,
  text,
});

/** config.certificate as vCenter sends it: one <byte> per byte, signed (xsd:byte). */
function asArrayOfByte(pem: string): XmlNode {
  const bytes = [...Buffer.from(pem, 'latin1')].map((b) => node('byte', String(b > 127 ? b - 256 : b)));
  return node('val', '', bytes);
}

void describe('host certificate decoder', () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });
  after(() => pki.remove());

  void it('reads the PEM of an ArrayOfByte and decodes what openssl wrote', () => {
    const pem = pki.read(pki.serverCert);
    const got = hostCertificate(asArrayOfByte(pem));
    const truth = new X509Certificate(pem);
    assert.equal(got?.notAfterSeconds, Date.parse(truth.validTo) / 1000);
    assert.equal(got?.subject, 'CN=server');
    assert.equal(got?.issuer, 'CN=ca');
    assert.equal(got?.serialNumber, truth.serialNumber);
  });

  void it('takes signed and unsigned byte values alike, and the text of a server that sends PEM as text', () => {
    assert.deepEqual(
      [...certificateBytes(node('val', '', [node('byte', '-1'), node('byte', '255')]))!],
      [255, 255],
    );
    const pem = pki.read(pki.serverCert);
    assert.equal(hostCertificate(node('val', pem))?.subject, 'CN=server');
  });

  void it('the model keeps an ArrayOfByte as one node of latin1 text, which decodes to the same certificate', () => {
    const pem = pki.read(pki.serverCert);
    const bytes = [...Buffer.from(pem, 'latin1')]
      .map((b) => `<byte>${b > 127 ? b - 256 : b}</byte>`)
      .join('');
    const xml =
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
      `<val xsi:type="ArrayOfByte">${bytes}</val></soapenv:Body></soapenv:Envelope>`;
    const p = new SoapXmlParser();
    p.write(Buffer.from(xml));
    const val = child(p.close(), 'Body')!.children[0]!;
    const kept = compactByteArray(val)!;
    assert.equal(kept.children.length, 0);
    assert.equal(kept.text, pem);
    assert.deepEqual(hostCertificate(kept), hostCertificate(val));
    // Anything else is left as read.
    const odd = node('val', '', [node('byte', 'x')]);
    odd.attrs.type = 'ArrayOfByte';
    assert.equal(compactByteArray(odd), odd);
    const other = node('val', 'text');
    assert.equal(compactByteArray(other), other);
  });

  void it('drops what is not a certificate without throwing', () => {
    assert.equal(hostCertificate(undefined), undefined);
    assert.equal(hostCertificate(asArrayOfByte('\n')), undefined, "vcsim 0.24's one-byte certificate");
    assert.equal(hostCertificate(node('val', '', [node('byte', '__proto__')])), undefined);
    assert.equal(hostCertificate(node('val', '', [node('byte', '999')])), undefined);
    assert.equal(
      certificateInfo('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      undefined,
    );
  });
});
