/**
 * Installing the exporter with npm without the registry and without a warm npm cache, as on a fresh
 * machine: `npm install --offline` needs the registry's metadata (packuments) or tarballs in the
 * cache, which `npm ci` in the repository does not leave behind. Instead, the production
 * dependencies the repository already has (exactly the lockfile's non-dev entries, which is what
 * `npm ci --omit=dev` installs) are copied into the install directory first; npm then finds every
 * dependency satisfied on disk and needs nothing from the network or the cache.
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { repoRoot } from './procs.js';

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
}

/** The lockfile's production packages: `node_modules/...` paths and their versions. */
export function productionPackages(): { path: string; version: string | undefined; optional: boolean }[] {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  return Object.entries(lock.packages)
    .filter(([path, e]) => path.startsWith('node_modules/') && e.dev !== true && e.devOptional !== true)
    .map(([path, e]) => ({ path, version: e.version, optional: e.optional === true }));
}

/**
 * Copies the repository's production dependencies into `dir`/node_modules (nested node_modules
 * are entries of their own). Throws when the repository's node_modules does not match the lockfile.
 */
export function copyProductionModules(dir: string): string[] {
  const copied: string[] = [];
  for (const { path, version, optional } of productionPackages()) {
    const from = join(repoRoot, path);
    if (!existsSync(from)) {
      if (optional) continue; // e.g. a platform-specific package for another OS
      throw new Error(`${path} is missing from the repository: run npm ci`);
    }
    const installed = (JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as { version: string })
      .version;
    if (version !== undefined && installed !== version) {
      throw new Error(`${path} is ${installed} but package-lock.json says ${version}: run npm ci`);
    }
    cpSync(from, join(dir, path), {
      recursive: true,
      filter: (src) => !relative(from, src).split(sep).includes('node_modules'),
    });
    copied.push(path);
  }
  return copied;
}

/**
 * npm's environment for these installs: a cache of its own (empty at first, so the result never
 * depends on what the developer's cache holds), production mode, and none of the npm_* variables
 * an outer `npm test` exports (its prefix and settings are the repository's, not the install's).
 */
export function npmEnv(cacheDir: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, npm_config_cache: cacheDir, NODE_ENV: 'production' };
}
