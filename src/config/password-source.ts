import { ConfigError } from './errors.js';
import { readPassword } from './load.js';
import type { VsphereConfig } from './schema.js';
import type { Secret } from './secret.js';

/**
 * The password of one target as its sessions read it, at every login: inline, from an environment
 * variable, or from the password file (refused without waiting when it is a FIFO or not a regular
 * file). A failure says why in words without the `config error: ` prefix, as it is a login problem now.
 */
export function passwordSource(
  v: VsphereConfig,
  env: Record<string, string | undefined> = process.env,
): { read(): Promise<Secret> } {
  return {
    read: async () => {
      try {
        return await readPassword(v, env);
      } catch (e) {
        throw e instanceof ConfigError ? new Error(e.problems.join('; ')) : e;
      }
    },
  };
}
