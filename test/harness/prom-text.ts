/**
 * A strict parser for the Prometheus text exposition format 0.0.4, so integration tests fail on
 * any output a real Prometheus would reject (and on some it would merely tolerate).
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestamp?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a value as Prometheus does (Go's strconv.ParseFloat): decimals, and NaN/Inf/Infinity
 * with optional sign in any letter case. prom-client, for one, writes NaN as "Nan".
 */
function parseValue(s: string, where: string): number {
  const special = /^([+-]?)(nan|inf|infinity)$/i.exec(s);
  if (special) {
    if (special[2]!.toLowerCase() === 'nan') return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!FLOAT.test(s)) throw new Error(`${where}: bad value ${JSON.stringify(s)}`);
  return Number(s);
}

/** Reads `{name="value",...}` starting at `text[pos] === '{'`; returns labels and the index after '}'. */
function parseLabels(
  text: string,
  pos: number,
  where: string,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = pos + 1;
  const skipSpace = (): void => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  for (;;) {
    skipSpace();
    if (text[i] === '}') return { labels, end: i + 1 };
    const nameStart = i;
    while (i < text.length && /[a-zA-Z0-9_]/.test(text[i]!)) i++;
    const name = text.slice(nameStart, i);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name at column ${nameStart + 1}`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: duplicate label ${name}`);
    skipSpace();
    if (text[i] !== '=') throw new Error(`${where}: expected '=' after label ${name}`);
    i++;
    skipSpace();
    if (text[i] !== '"') throw new Error(`${where}: expected '"' for label ${name}`);
    i++;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`${where}: unterminated value of label ${name}`);
      i++;
      if (c === '"') break;
      if (c !== '\\') {
        value += c;
        continue;
      }
      const e = text[i++];
      if (e === '\\') value += '\\';
      else if (e === '"') value += '"';
      else if (e === 'n') value += '\n';
      else throw new Error(`${where}: bad escape \\${e ?? ''} in label ${name}`);
    }
    labels[name] = value;
    skipSpace();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label ${name}`);
  }
}

/** Unescapes a HELP docstring (only `\\` and `\n` are escapes there). */
function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.?)/g, (_, e: string) => {
    if (e === '\\') return '\\';
    if (e === 'n') return '\n';
    throw new Error(`${where}: bad escape \\${e} in HELP`);
  });
}

/**
 * Parses exposition text. Throws on malformed lines, a missing final newline, duplicate HELP or
 * TYPE, TYPE after the family's samples, or a family whose lines are not contiguous.
 */
export function parsePrometheusText(text: string): {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
} {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const lines = text.split('\n');
  lines.pop(); // the empty string after the final newline
  // Family bookkeeping: a family's lines must form one group.
  const finished = new Set<string>();
  const withSamples = new Set<string>();
  let current: string | undefined;
  const enter = (family: string, where: string): void => {
    if (family === current) return;
    if (finished.has(family)) throw new Error(`${where}: lines of ${family} are not contiguous`);
    if (current !== undefined) finished.add(current);
    current = family;
  };
  const familyOf = (name: string): string => {
    for (const [suffix, kinds] of [
      ['_bucket', ['histogram']],
      ['_count', ['histogram', 'summary']],
      ['_sum', ['histogram', 'summary']],
    ] as const) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && (kinds as readonly string[]).includes(types.get(base) ?? '')) return base;
    }
    return name;
  };

  lines.forEach((line, idx) => {
    const where = `line ${idx + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) {
        if (/^#[ \t]+(HELP|TYPE)\b/.test(line))
          throw new Error(`${where}: malformed ${JSON.stringify(line)}`);
        return; // a plain comment
      }
      const [, kind, name = '', rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`);
      enter(name, where);
      if (kind === 'HELP') {
        if (help.has(name)) throw new Error(`${where}: second HELP for ${name}`);
        help.set(name, unescapeHelp(rest, where));
      } else {
        const type = rest.trim();
        if (!TYPES.has(type)) throw new Error(`${where}: bad type ${JSON.stringify(type)} for ${name}`);
        if (types.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
        if (withSamples.has(name)) throw new Error(`${where}: TYPE for ${name} after its samples`);
        types.set(name, type);
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`${where}: bad metric name in ${JSON.stringify(line)}`);
    const name = nameMatch[0];
    let pos = name.length;
    // The name ends at whitespace or '{'; anything else (e.g. "foo+1") is a malformed name.
    if (!/^[ \t{]/.test(line.slice(pos)))
      throw new Error(`${where}: bad metric name in ${JSON.stringify(line)}`);
    while (line[pos] === ' ' || line[pos] === '\t') pos++;
    let labels: Record<string, string> = {};
    if (line[pos] === '{') {
      ({ labels, end: pos } = parseLabels(line, pos, where));
    }
    const fields = line
      .slice(pos)
      .trim()
      .split(/[ \t]+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '') {
      throw new Error(`${where}: expected value [timestamp] in ${JSON.stringify(line)}`);
    }
    const sample: Sample = { name, labels, value: parseValue(fields[0]!, where) };
    if (fields[1] !== undefined) {
      if (!/^-?\d+$/.test(fields[1])) throw new Error(`${where}: bad timestamp ${JSON.stringify(fields[1])}`);
      sample.timestamp = Number(fields[1]);
    }
    const family = familyOf(name);
    enter(family, where);
    withSamples.add(family);
    samples.push(sample);
  });
  return { samples, types, help };
}

/** Samples named `name` whose labels include every given label (undefined values are ignored). */
export function find(
  samples: Sample[],
  name: string,
  labels: Partial<Record<string, string>> = {},
): Sample[] {
  const wanted = Object.entries(labels).filter((e): e is [string, string] => e[1] !== undefined);
  return samples.filter((s) => s.name === name && wanted.every(([k, v]) => s.labels[k] === v));
}
