import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, osReason } from './errors.js';
import { parseLayer, type Layer } from './schema.js';

// The yaml library's own default, made explicit: a config has no reason to come near it.
const MAX_ALIAS_COUNT = 100;

// Empty keys (`collectors:` with everything commented out) mean "not set", like an absent key.
function stripNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (v === null || typeof v !== 'object') return v;
  // fromEntries defines own properties: a `__proto__:` key stays a key (reported as unknown).
  return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === null ? [] : [[k, stripNulls(x)]])));
}

function lineOf(
  doc: Document,
  lc: LineCounter,
  keyPath: readonly string[],
  keyNode: boolean,
): number | undefined {
  let node: unknown;
  if (keyNode) {
    // For an unknown key, point at the key itself: its value may be missing or span many lines.
    const parent = keyPath.length === 1 ? doc.contents : doc.getIn(keyPath.slice(0, -1), true);
    if (isMap(parent)) {
      node = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === keyPath.at(-1))?.key;
    }
  } else {
    node = doc.getIn(keyPath, true);
  }
  const offset = (node as { range?: [number, number, number] } | undefined)?.range?.[0];
  return offset === undefined ? undefined : lc.linePos(offset).line;
}

/** Reads and validates the YAML config file; relative paths in it are resolved against its directory. */
export async function loadFileLayer(file: string): Promise<Layer> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config.file: cannot read ${file}: ${osReason(err)}`);
  }
  const lc = new LineCounter();
  // uniqueKeys (the default) makes a duplicated key an error rather than a silent "last one wins".
  const doc = parseDocument(source, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const { line, col } = lc.linePos(e.pos[0]);
        return `invalid YAML in ${file} line ${line} column ${col}: ${e.message.split('\n')[0] ?? e.code}`;
      }),
    );
  }
  let js: unknown;
  try {
    // Aliases to aliases expand exponentially ("billion laughs"); a config needs few, so a small
    // bound turns such a file into a config error instead of a process that runs out of memory.
    js = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const limit = /alias/i.test(why) ? ` (at most ${MAX_ALIAS_COUNT} alias expansions)` : '';
    throw new ConfigError(`invalid YAML in ${file}: ${why}${limit}`);
  }
  const raw = stripNulls(js ?? {});
  const where = (keyPath: readonly string[], keyNode: boolean) => {
    const line = lineOf(doc, lc, keyPath, keyNode);
    return line === undefined ? ` in ${file}` : ` in ${file} line ${line}`;
  };
  const name = (keyPath: readonly string[]) =>
    keyPath.length === 0 ? file : `${keyPath.join('.')}${where(keyPath, false)}`;
  const data = parseLayer(raw, {
    name,
    unknown: (keyPath) => `unknown key ${keyPath.join('.')}${where(keyPath, true)}`,
  });
  // Like Prometheus: a path in the file is relative to the file, so the service's cwd does not matter.
  const dir = path.dirname(path.resolve(file));
  for (const v of [data.vsphere, ...(data.targets ?? [])]) {
    if (v?.password_file !== undefined) v.password_file = path.resolve(dir, v.password_file);
    if (v?.ca_file !== undefined) v.ca_file = path.resolve(dir, v.ca_file);
  }
  return { data, name };
}
