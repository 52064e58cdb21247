/** A configuration problem meant for the operator; each problem is one line of the message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The problems without the `config error: ` prefix, one per entry. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.map((p) => `config error: ${p}`).join('\n'));
    this.problems = list;
  }
}

/** Turns a Node fs error into "ENOENT: no such file or directory" (no stack, no syscall noise). */
export function osReason(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    // Node's message is "ENOENT: no such file or directory, open '/x'": the path is already in our message.
    const head = err.message.replace(/, [a-z]+(?: '.*')?$/s, '');
    return code !== undefined && !head.startsWith(code) ? `${code}: ${head}` : head;
  }
  return String(err);
}
