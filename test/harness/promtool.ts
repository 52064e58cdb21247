/** Runs Prometheus's own linter over exposition text (promtool is in Debian's prometheus package). */
import { spawn } from 'node:child_process';

const TIMEOUT_MS = 30_000;

/** Pipes `text` to `promtool check metrics`; returns its exit code and combined output. */
export function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run promtool (scripts/ensure-system-deps.sh installs it): ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === null) reject(new Error(`promtool ended by ${signal ?? 'unknown signal'}: ${output}`));
      else resolve({ code, output });
    });
    // promtool may exit before reading everything (e.g. on a parse error); that is not our failure.
    child.stdin.on('error', () => {});
    child.stdin.end(text);
  });
}

/** The vsphere_* lines of an exposition (prom-client's own families are not ours to lint), newline-terminated. */
export function vsphereFamiliesText(text: string): string {
  return `${text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?vsphere_/.test(l))
    .join('\n')}\n`;
}
