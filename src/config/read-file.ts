// Reading the small files the config points at (password, CA) without ever blocking: opening a FIFO
// for reading waits for a writer inside libuv's thread pool, and a process whose pool thread is stuck
// there cannot even exit (process.exit() joins the pool threads), so SIGTERM would stop working.
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { ConfigError, osReason } from './errors.js';

// O_NONBLOCK makes open() of a FIFO return at once; it changes nothing for a regular file.
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

function kindOf(s: Stats): string {
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Largest ca_file read (a bundle of public CAs is about 200 KiB). */
export const CA_FILE_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Reads `file` as UTF-8 if it is a regular file of at most `maxBytes`; anything else (FIFO, device,
 * directory, a file that keeps growing) is a ConfigError naming `key`, never a wait.
 */
export async function readRegularFile(file: string, key: string, maxBytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, FLAGS);
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file}: ${osReason(err)}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new ConfigError(`${key}: ${file} is ${kindOf(stats)}, not a regular file`);
    }
    // Read to the end, not to stats.size: the file may be being rewritten. One byte past the limit
    // is enough to know it is too large.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - length));
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) throw new ConfigError(`${key}: ${file} is larger than ${maxBytes} bytes`);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${key}: cannot read ${file}: ${osReason(err)}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

// Node's TLS silently skips what is not a certificate in `ca`: a DER file or a private key would be
// accepted here and surface much later as "certificate signed by a CA this exporter does not trust".
/** Checks that `text` (read from `file`) has a PEM certificate and that each one parses; else a ConfigError naming `key`. */
export function checkPemCertificates(text: string, file: string, key: string): void {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new ConfigError(`${key}: ${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  }
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`${key}: certificate ${i + 1} in ${file} is not valid: ${why}`);
    }
  }
}
