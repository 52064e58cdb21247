import { ConfigError } from './errors.js';
import { FileSchema, type FileLayer } from './schema.js';

/** A validated layer plus a way to name one of its keys in messages ("VSPHERE_URL", "x in f.yml line 3"). */
export interface Layer {
  data: FileLayer;
  name(path: readonly string[]): string;
}

/** How a layer names its keys; `unknown` only matters for the YAML file. */
export interface KeyNamer {
  name(path: readonly string[]): string;
  unknown(path: readonly string[]): string;
}

// Never echo these values back: a password must not reach logs, the URL message already shows it (redacted).
const NO_ECHO = /^(vsphere|targets\.\d+)\.(password|url)$/;

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path)
    v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Validates one raw layer; every zod issue becomes one line naming the key (and YAML line). */
export function parseLayer(raw: unknown, keys: KeyNamer): FileLayer {
  const r = FileSchema.safeParse(raw);
  if (r.success) return r.data;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const issue of r.error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) problems.push(keys.unknown([...path, k]));
      continue;
    }
    const dotted = path.join('.');
    // A failed int check can raise several issues for one key; the first message says it all.
    if (seen.has(dotted)) continue;
    seen.add(dotted);
    const v = valueAt(raw, issue.path);
    // A section or target written as one string ("url: … password: …" quoted) may hold a password.
    const whole =
      issue.code === 'invalid_type' && (issue.expected === 'object' || issue.expected === 'array');
    const named = whole && v !== null && typeof v !== 'object' ? `a ${typeof v}` : describe(v);
    const got = v === undefined || NO_ECHO.test(dotted) ? '' : `, got ${named}`;
    problems.push(`${keys.name(path)}: ${issue.message}${got}`);
  }
  throw new ConfigError(problems);
}
