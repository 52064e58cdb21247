import type { Logger } from 'pino';
import type { VimClient } from './client.js';
import type { InventoryItem } from './inventory-records.js';
import { retrieveOne } from './property-collector.js';
import { isVsphereError } from './errors.js';
import { child } from './soap/xml.js';
import { moRef, str } from './values.js';
import { withinMs } from './waits.js';

// Distinct triggered alarms are few (tens), but a vCenter in a storm may have hundreds: bound the fan-out.
const NAME_CONCURRENCY = 8;
// An alarm whose name could not be read (deleted meanwhile, or a refused read) is asked again at
// most this often while it stays triggered.
const RETRY_MS = 5 * 60_000;
// The names are read inside a collection, before its collectors run: a vCenter that stalls on one
// alarm must not hold the collection to its deadline. A read past READ_MS counts as failed; the
// alarms a step cut at STEP_MS did not reach are asked by the next collection.
const READ_MS = 2_000;
const STEP_MS = 3_000;
const TRIGGERED = 'triggeredAlarmState';

/** Timing of AlarmNames (tests shorten them). */
export interface AlarmNameTimes {
  /** Wait before a failed read is asked again, in ms. */
  retryMs?: number;
  /** Limit of one read, in ms. */
  readMs?: number;
  /** Limit of all reads of one resolve(), in ms. */
  stepMs?: number;
  now?: () => number;
}

/** Moids of the alarms named in the triggeredAlarmState of any record (whatever its type). */
export function triggeredAlarmMoids(items: Iterable<InventoryItem>): Set<string> {
  const out = new Set<string>();
  for (const it of items) {
    const val =
      it.kind === 'vm'
        ? it.vm.extra?.get(TRIGGERED)
        : it.kind === 'host'
          ? it.host.extra?.get(TRIGGERED)
          : it.props?.get(TRIGGERED);
    for (const s of val?.children ?? []) {
      const alarm = moRef(child(s, 'alarm'))?.value;
      if (alarm) out.add(alarm);
    }
  }
  return out;
}

/**
 * Alarm.info.name of triggered alarms, read once per session: only alarms not named yet cost a
 * call (one RetrievePropertiesEx each: one missing object would fault a batched read), so a
 * steady state costs none. A failed read gives "" and is retried after a while.
 */
export class AlarmNames {
  private names = new Map<string, string>();
  private readonly retryAt = new Map<string, number>();
  private generation: number | undefined;
  private readonly retryMs: number;
  private readonly readMs: number;
  private readonly stepMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: VimClient,
    private readonly logger: Logger,
    times: AlarmNameTimes = {},
  ) {
    this.retryMs = times.retryMs ?? RETRY_MS;
    this.readMs = times.readMs ?? READ_MS;
    this.stepMs = times.stepMs ?? STEP_MS;
    this.now = times.now ?? Date.now;
  }

  /** The names as of now; a new Map only when a name was added or changed (the old one stays as handed out). */
  get current(): ReadonlyMap<string, string> {
    return this.names;
  }

  /** Reads the names of `moids` not named yet this session (or due for a retry); never throws. */
  async resolve(moids: Iterable<string>, signal?: AbortSignal): Promise<ReadonlyMap<string, string>> {
    if (this.generation !== this.client.session.generation) {
      // Alarms may have changed while there was no session: names are per session.
      this.generation = this.client.session.generation;
      this.names = new Map();
      this.retryAt.clear();
    }
    const t = this.now();
    const todo = [...moids].filter((m) => !this.names.has(m) || (this.retryAt.get(m) ?? Infinity) <= t);
    if (todo.length === 0) return this.names;
    const read = new Map<string, string>();
    let next = 0;
    await withinMs(signal, this.stepMs, (step) => {
      const worker = async (): Promise<void> => {
        while (next < todo.length && !step.aborted) {
          const moid = todo[next++]!;
          try {
            const props = await withinMs(step, this.readMs, (one) =>
              retrieveOne(this.client, { type: 'Alarm', value: moid }, ['info.name'], one),
            );
            read.set(moid, str(props.get('info.name')) ?? '');
            this.retryAt.delete(moid);
          } catch (e) {
            // Cut by the collection or the step, not by this read's own limit: asked again next time.
            if (step.aborted) return;
            // A deleted alarm is expected; anything else (a refused read) is said once per retry.
            if (!isVsphereError(e, 'VSPHERE_MANAGED_OBJECT_NOT_FOUND'))
              this.logger.debug(
                { alarm: moid, error: e instanceof Error ? e.message : String(e) },
                'alarm name read failed',
              );
            read.set(moid, this.names.get(moid) ?? '');
            this.retryAt.set(moid, this.now() + this.retryMs);
          }
        }
      };
      return Promise.all(Array.from({ length: Math.min(NAME_CONCURRENCY, todo.length) }, worker));
    });
    if ([...read].some(([m, n]) => this.names.get(m) !== n)) this.names = new Map([...this.names, ...read]);
    return this.names;
  }
}
