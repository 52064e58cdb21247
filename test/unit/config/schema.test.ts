import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeVsphereUrl } from '../../../src/config/schema.js';

function ok(input: string): string {
  const r = normalizeVsphereUrl(input);
  assert.ok(r instanceof URL, `expected ${input} to be accepted, got ${String(r)}`);
  return r.href;
}
function bad(input: string): string {
  const r = normalizeVsphereUrl(input);
  assert.equal(typeof r, 'string', `expected ${input} to be rejected`);
  return String(r);
}

void describe('normalizeVsphereUrl', () => {
  void it('implies /sdk when the path is empty or /', () => {
    assert.equal(ok('https://vc.example.com'), 'https://vc.example.com/sdk');
    assert.equal(ok('https://vc.example.com/'), 'https://vc.example.com/sdk');
    assert.equal(ok('http://10.0.0.1:8080'), 'http://10.0.0.1:8080/sdk');
  });

  void it('keeps an explicit path', () => {
    assert.equal(ok('https://vc.example.com/sdk'), 'https://vc.example.com/sdk');
    assert.equal(
      ok('https://proxy.example.com:8443/vcenter/sdk'),
      'https://proxy.example.com:8443/vcenter/sdk',
    );
  });

  void it('accepts only http and https', () => {
    assert.match(bad('ftp://vc.example.com'), /http:\/\/ or https:\/\/.*"ftp"/);
    assert.match(bad('file:///etc/passwd'), /"file"/);
  });

  void it('rejects credentials without echoing them', () => {
    const msg = bad('https://admin:hunter2@vc.example.com');
    assert.match(msg, /must not contain credentials/);
    assert.ok(!msg.includes('hunter2'));
    assert.match(bad('https://admin@vc.example.com'), /credentials/);
  });

  void it('never echoes user-info, even in an unparsable URL', () => {
    const msg = bad('https://admin:hunter2@vc example.com');
    assert.match(msg, /must not contain credentials/);
    assert.ok(!msg.includes('hunter2'), msg);
  });

  // "/", "?" and "#" end the authority early: the parser then sees a host "admin" and a port or
  // path holding the password, and some of these even parse as valid URLs.
  void it('rejects credentials whose password holds "/", "?" or "#" without echoing any of it', () => {
    for (const c of ['/', '?', '#']) {
      for (const url of [
        `https://admin:hun${c}ter2@vc.example.com`,
        `https://admin:12${c}hunter2@vc.example.com/sdk`,
        `https://ad${c}min:hunter2@vc.example.com`,
        `https://admin:hunter2${c}@vc.example.com`,
      ]) {
        const msg = bad(url);
        assert.match(msg, /must not contain credentials/, url);
        for (const part of ['hun', 'ter2', 'admin', 'min:'])
          assert.ok(!msg.includes(part), `${url} -> ${msg}`);
      }
    }
  });

  void it('rejects query strings and fragments, even empty ones', () => {
    for (const u of ['https://vc/sdk?x=1', 'https://vc/sdk#f', 'https://vc/sdk?', 'https://vc#']) {
      assert.match(bad(u), /query string or fragment/);
    }
  });

  void it('rejects non-URLs with a hint', () => {
    assert.match(bad('vc.example.com'), /not a valid URL: "vc.example.com" \(expected e\.g\. https:/);
    assert.match(bad(''), /not a valid URL/);
  });

  void it('suggests https:// for a host:port without a scheme (not "got scheme localhost")', () => {
    assert.equal(
      bad('localhost:38683'),
      '"localhost:38683" has no scheme (read as scheme "localhost"): did you mean https://localhost:38683?',
    );
    assert.match(bad('vc.example.com:443/sdk'), /did you mean https:\/\/vc\.example\.com:443\/sdk\?$/);
    assert.match(bad('10.0.0.1:443'), /\(expected e\.g\. https:\/\/10\.0\.0\.1:443\)$/);
    assert.equal(bad('ftp://vc.example.com'), 'expected an http:// or https:// URL, got scheme "ftp"');
  });
});
