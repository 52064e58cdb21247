import { ConfigError, loadConfig, VERSION } from '../config/load.js';
import { readCa } from '../target.js';
import { inspectTarget } from './inspect.js';
import { exitCode, formatJson, formatText, type TargetReport } from './report.js';

/** Where the command writes (process.stdout/stderr in main). */
export interface CheckIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The argv of `check` minus its own `--format` flag, which the exporter's flag parser would refuse. */
export function splitFormat(argv: readonly string[]): { format: string; rest: string[] } {
  let format = 'text';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--format') {
      format = argv[++i] ?? '';
    } else if (a.startsWith('--format=')) {
      format = a.slice('--format='.length);
    } else {
      rest.push(a);
    }
  }
  return { format, rest };
}

/**
 * `vsphere-exporter check [flags]`: validates the configuration, logs in to every target and
 * reports what the exporter would find there. Exit 0 all fine, 1 a target has a problem, 2 bad config.
 */
export async function runCheck(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: CheckIo,
): Promise<number> {
  const { format, rest } = splitFormat(argv);
  if (format !== 'text' && format !== 'json') {
    io.err(`--format: expected text or json, got ${JSON.stringify(format)}\n`);
    return 2;
  }
  let reports: TargetReport[];
  try {
    const loaded = await loadConfig(rest, env);
    if (loaded.kind === 'help') {
      io.out(loaded.text);
      return 0;
    }
    if (loaded.kind === 'version') {
      io.out(`vsphere-exporter ${VERSION} (node ${process.version})\n`);
      return 0;
    }
    const { config } = loaded;
    if (config.targets.length === 0) throw new ConfigError('no targets configured (vsphere or targets)');
    // Every CA file is read before any login, so a config problem is reported as one (exit 2).
    const cas: (string | undefined)[] = [];
    for (const t of config.targets)
      cas.push(t.vsphere.caFile ? await readCa(t.vsphere.caFile, t.name) : undefined);
    reports = await Promise.all(config.targets.map((t, i) => inspectTarget(t, config.options, cas[i])));
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const report = { targets: reports };
  io.out(format === 'json' ? formatJson(report) : formatText(report));
  return exitCode(report);
}
