import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';

/** A temp directory created before and removed after the calling test file. */
export class TempDir {
  dir = '';

  constructor() {
    before(() => {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsphere-exporter-config-'));
    });
    after(() => fs.rmSync(this.dir, { recursive: true, force: true }));
  }

  /** Writes `content` to `name` in the directory and returns its path. */
  write(name: string, content: string): string {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, content);
    return file;
  }
}

/** A self-signed CA certificate (valid until 2126) for ca_file keys, which must hold a parseable PEM certificate. */
export const CA_PEM = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBnDCCAUOgAwIBAgIUVdOF1he/L8JWiSADUuOfyrVkJ2owCgYIKoZIzj0EAwIw',
  'IzEhMB8GA1UEAwwYdnNwaGVyZS1leHBvcnRlciB0ZXN0IENBMCAXDTI2MTIwNjEy',
  'MzAxNFoYDzIxMjYxMTEyMTIzMDE0WjAjMSEwHwYDVQQDDBh2c3BoZXJlLWV4cG9y',
  'dGVyIHRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQmPNBhFXXItPH1',
  'tb2u89pDtx+m1Dd6LtXjFO+NYbLj1Kwag66JGW7SGhEJwiMw3kHJ6u+hkvm2wV3E',
  'b3xfECRro1MwUTAdBgNVHQ4EFgQUHRDUXWanuUJJw2+g0NYX7+uy7RswHwYDVR0j',
  'BBgwFoAUHRDUXWanuUJJw2+g0NYX7+uy7RswDwYDVR0TAQH/BAUwAwEB/zAKBggq',
  'hkjOPQQDAgNHADBEAiBYy3QPi0PnAL/Tjix+8fcmLq8la1/ArCfoN9ga05OOvgIg',
  'GH6eHbhHeg0fnz9unOHlmLztILtHHyCsIt1RMfGGiR4=',
  '-----END CERTIFICATE-----',
].join('\n');

/** Environment with the required keys except the password. */
export const BASE_ENV = { VSPHERE_URL: 'https://vc.example.com', VSPHERE_USER: 'u' };

/** Loads a config that must be valid and returns it. */
export async function run(argv: string[], env: Record<string, string | undefined>): Promise<Config> {
  const r = await loadConfig(argv, env);
  assert.equal(r.kind, 'run');
  return r.config;
}

/** Asserts loading fails with a ConfigError whose message equals / matches `expected`. */
export async function fails(
  argv: string[],
  env: Record<string, string | undefined>,
  expected: string | RegExp,
): Promise<void> {
  await assert.rejects(loadConfig(argv, env), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    if (typeof expected === 'string') assert.equal(err.message, expected);
    else assert.match(err.message, expected);
    return true;
  });
}
