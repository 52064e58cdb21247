import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler } from './http-server.js';
import { send } from './http-server.js';

const TEXT = 'text/plain; charset=utf-8';

/**
 * GET /probe?target=<name>: scrapes one configured target (the Prometheus multi-target pattern).
 * `target` is only ever looked up among configured names: a host, URL or unknown name is a 400
 * before anything connects, so a caller can never point the exporter's credentials elsewhere.
 */
export function probeHandler(targets: ReadonlyMap<string, Handler>): Handler {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let names: string[];
    try {
      names = new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('target');
    } catch {
      names = [];
    }
    if (names.length !== 1) {
      send(
        res,
        400,
        TEXT,
        '400 /probe needs exactly one target parameter: /probe?target=<configured name>\n',
      );
      return;
    }
    const handler = targets.get(names[0]!);
    if (!handler) {
      // The input is not echoed: it is attacker-controlled and answers must not reflect it.
      send(res, 400, TEXT, '400 unknown target: only names configured under `targets` are accepted\n');
      return;
    }
    await handler(req, res);
  };
}
