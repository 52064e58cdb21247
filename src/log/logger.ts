import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** pino's logger type, re-exported so callers need not depend on pino directly. */
export type { Logger } from 'pino';

/** Fields that may carry credentials; pino replaces them before anything is serialised. */
export const REDACT_PATHS: readonly string[] = [
  'password',
  '*.password',
  'cookie',
  '*.cookie',
  '["set-cookie"]',
  '*["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  // vAPI (REST) session id, sent as a header instead of a cookie.
  'headers["vmware-api-session-id"]',
  '*.headers["vmware-api-session-id"]',
  // SOAP traces: a Login request body holds the password, a response body may hold session data.
  'soap.body',
];

// Quote when a bare value would be ambiguous to a logfmt parser or could forge/split a line.
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTES = /[\s="\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const BAD_KEY_CHARS = /[\s="\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeChar(c: string): string {
  switch (c) {
    case '"':
      return '\\"';
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default:
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}

/** Formats one logfmt value, quoting and escaping only when needed. */
export function logfmtValue(v: string): string {
  if (v !== '' && !NEEDS_QUOTES.test(v)) return v;
  // eslint-disable-next-line no-control-regex
  return `"${v.replace(/["\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, escapeChar)}"`;
}

function flatten(prefix: string, v: unknown, out: string[]): void {
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) out.push(`${prefix}=${Array.isArray(v) ? '[]' : '{}'}`);
    for (const [k, x] of entries) flatten(`${prefix}.${k.replace(BAD_KEY_CHARS, '_')}`, x, out);
    return;
  }
  out.push(`${prefix}=${logfmtValue(typeof v === 'string' ? v : String(v))}`);
}

/** Converts one pino JSON line into a logfmt line: ts, level and msg first, then the other fields. */
export function jsonToLogfmt(line: string): string {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return `${line.trimEnd()}\n`;
  const { time, level, msg, ...rest } = rec as Record<string, unknown>;
  const out: string[] = [];
  if (time !== undefined) flatten('ts', time, out);
  if (level !== undefined) flatten('level', level, out);
  if (msg !== undefined) flatten('msg', msg, out);
  for (const [k, v] of Object.entries(rest)) flatten(k.replace(BAD_KEY_CHARS, '_') || '_', v, out);
  return `${out.join(' ')}\n`;
}

/** Creates the process logger (stderr by default) in logfmt or pino JSON, with credential redaction. */
export function createLogger(
  opts: { level: string; format: 'logfmt' | 'json' },
  dest: NodeJS.WritableStream = process.stderr,
): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    // pid/hostname add nothing under a service manager or container and clutter logfmt lines.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: '<redacted>' },
  };
  if (opts.format === 'json') return pino(options, dest as DestinationStream);
  // A plain synchronous write hook rather than a pino transport: no worker thread, and nothing
  // buffered that could be lost when the process exits on a fatal error.
  const logfmt: DestinationStream = { write: (line: string) => void dest.write(jsonToLogfmt(line)) };
  return pino(options, logfmt);
}

/** A logger that discards everything, for tests and library callers that pass no logger. */
export function silentLogger(): Logger {
  // An explicit no-op destination so no stdout SonicBoom is opened for a logger that never writes.
  return pino({ level: 'silent' }, { write: () => undefined });
}
