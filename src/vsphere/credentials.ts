import type { ConnectionOptions } from './pool-options.js';

/** A password as the sessions hold it: masked everywhere but through reveal() (the config's Secret is one). */
export interface Password {
  /** The real value; called only where it is sent to vCenter or scrubbed from its answers. */
  reveal(): string;
}

/**
 * Where the sessions of a target read its password: at every login, so a rotated or fixed password
 * file needs no restart. The reading (a file refused when it is a FIFO or not a regular file, an
 * environment variable) belongs to whoever builds the source; the sessions only bound the wait.
 */
export interface PasswordSource {
  /** The password for one login; rejects with an Error whose message says why it cannot be read. */
  read(signal: AbortSignal): Promise<Password>;
}

/** The plain settings of one target's connections and login (the config's vsphere section is one). */
export interface TargetSettings extends Omit<ConnectionOptions, 'ca'> {
  url: URL;
  user: string;
  keepaliveIntervalMs: number;
}
