/** Parsed form of one sample line, as produced by the strict test-only parser. */
export interface ParsedSample {
  name: string;
  labels: [string, string][];
  value: string;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Strictly parses `name{l="v",...} value` (no timestamp), rejecting any non-canonical escaping. */
export function parseSampleLine(line: string): ParsedSample {
  const nameMatch = NAME_RE.exec(line);
  if (!nameMatch) throw new Error(`bad metric name in ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  let i = name.length;
  const labels: [string, string][] = [];
  if (line[i] === '{') {
    i++;
    for (;;) {
      const labelMatch = LABEL_RE.exec(line.slice(i));
      if (!labelMatch) throw new Error(`bad label name at ${i} in ${JSON.stringify(line)}`);
      const label = labelMatch[0];
      i += label.length;
      if (line.slice(i, i + 2) !== '="') throw new Error(`expected =" at ${i}`);
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error('unterminated label value');
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\n') throw new Error('raw newline in label value');
        if (c === '\\') {
          const e = line[i + 1];
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else throw new Error(`invalid escape \\${e} in label value`);
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      labels.push([label, value]);
      if (line[i] === ',') {
        i++;
        continue;
      }
      if (line[i] === '}') {
        i++;
        break;
      }
      throw new Error(`expected , or } at ${i}`);
    }
  }
  if (line[i] !== ' ') throw new Error(`expected single space before value at ${i}`);
  const value = line.slice(i + 1);
  if (!/^(?:NaN|[+-]Inf|-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)$/.test(value)) {
    throw new Error(`bad value ${JSON.stringify(value)}`);
  }
  return { name, labels, value };
}

/** Inverse of escapeHelp, rejecting escapes other than \\ and \n. */
export function unescapeHelp(s: string): string {
  return s.replace(/\\(.?)/gsu, (_m, e: string) => {
    if (e === '\\') return '\\';
    if (e === 'n') return '\n';
    throw new Error(`invalid escape \\${e} in HELP`);
  });
}

/** Parses a formatted sample value back to a number, mapping the Go spellings of infinity. */
export function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}
