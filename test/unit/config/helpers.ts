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
