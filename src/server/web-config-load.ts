import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError, osReason } from '../config/errors.js';
import { parseWebConfig, WebConfigProblem, type PemSource, type WebConfigSpec } from './web-config.js';

/** A web config file with every file it references read and checked. */
export interface LoadedWebConfig {
  spec: WebConfigSpec;
  /** Options for the HTTPS server and for setSecureContext() on reload; undefined = plain HTTP. */
  secureContext?: SecureContextOptions;
  /** The config file and the certificate/key/CA files it names: a change to any triggers a reload. */
  files: readonly string[];
}

async function readPem(src: PemSource, key: string): Promise<string> {
  if ('inline' in src) return src.inline;
  try {
    return await readFile(src.file, 'utf8');
  } catch (e) {
    throw new WebConfigProblem(`${key}: cannot read ${src.file}: ${osReason(e)}`);
  }
}

// createSecureContext() silently skips what is not a certificate in `ca`, so check each block here.
function checkCa(text: string, key: string): void {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new WebConfigProblem(`${key}: no PEM certificate found`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new WebConfigProblem(
        `${key}: invalid certificate: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
}

async function buildSecureContext(spec: WebConfigSpec): Promise<SecureContextOptions | undefined> {
  const t = spec.tls;
  if (t === undefined) return undefined;
  const p = 'tls_server_config';
  const cert = await readPem(t.cert, 'file' in t.cert ? `${p}.cert_file` : `${p}.cert`);
  const key = await readPem(t.key, 'file' in t.key ? `${p}.key_file` : `${p}.key`);
  const caKey = t.clientCa && 'file' in t.clientCa ? `${p}.client_ca_file` : `${p}.client_ca`;
  const ca = t.clientCa ? await readPem(t.clientCa, caKey) : undefined;
  if (ca !== undefined) checkCa(ca, caKey);
  const options: SecureContextOptions = {
    cert,
    key,
    ...(ca !== undefined && { ca }),
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    honorCipherOrder: t.honorCipherOrder,
    ...(t.ciphers !== undefined && { ciphers: t.ciphers }),
    ...(t.ecdhCurve !== undefined && { ecdhCurve: t.ecdhCurve }),
  };
  try {
    // Catches a key that does not match the certificate, PEM garbage, ciphers OpenSSL lacks.
    createSecureContext(options);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new WebConfigProblem(`${p}: cannot use the certificate and key: ${reason}`);
  }
  return options;
}

/** Reads, validates and prepares the web config file; a ConfigError (exit 2) names the bad key. */
export async function loadWebConfig(file: string): Promise<LoadedWebConfig> {
  const where = `--web.config.file ${file}`;
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${where}: cannot read: ${osReason(e)}`);
  }
  try {
    const spec = parseWebConfig(source, file);
    const secureContext = await buildSecureContext(spec);
    const t = spec.tls;
    const files = [
      file,
      ...[t?.cert, t?.key, t?.clientCa].flatMap((s) => (s && 'file' in s ? [s.file] : [])),
    ];
    return { spec, ...(secureContext && { secureContext }), files };
  } catch (e) {
    if (e instanceof WebConfigProblem) throw new ConfigError(`${where}: ${e.message}`);
    throw e;
  }
}

/** A cheap summary of the files' states (mtime, size, inode); it changes when any file is rewritten. */
export async function fingerprint(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (f) => {
      try {
        const s = await stat(f, { bigint: true });
        return `${s.mtimeNs}/${s.ctimeNs}/${s.size}/${s.ino}`;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code ?? 'error';
      }
    }),
  );
  return parts.join('|');
}
