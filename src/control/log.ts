import { pino, type DestinationStream, type Logger } from 'pino';
import { lifecycleChannel, recordChannel, type LifecycleEvent } from '../model/channels.js';
import type { ProxyRecord } from '../model/record.js';
import { F } from './log-fields.js';
import { recordJsonLine, recordLine } from './record-line.js';

export { recordLine };

export type LogFormat = 'json' | 'pretty';

export async function createLogger(format: LogFormat, level: string, stream: DestinationStream): Promise<Logger> {
  const options = {
    level,
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (format === 'pretty') {
    const { default: pretty } = await import('pino-pretty');
    return pino(options, pretty({ destination: stream as unknown as NodeJS.WritableStream, sync: true, colorize: false }));
  }
  return pino(options, stream);
}

const WARN_EVENTS = new Set<LifecycleEvent['event']>(['reload_failed', 'config_reload_failed', 'needs_restart', 'warning', 'worker_exited']);

/**
 * Writes one record's line (a worker of --workers does this itself, next to the record). `json`:
 * the stream the JSON logger writes to, which the line is then written to directly
 * (record-line.ts: the same line pino would write, without its per-call cost).
 */
export function logRecord(logger: Logger, r: ProxyRecord, json?: DestinationStream): void {
  const level = r.status !== undefined && r.status >= 500 ? 'warn' : 'info';
  if (!json) return void logger[level](recordLine(r), r.kind);
  if (logger.isLevelEnabled(level)) json.write(recordJsonLine(r, level));
}

/**
 * Subscribes a logger to one proxy instance's records and lifecycle events. `json`: see
 * logRecord. `loggedElsewhere` names records whose line was already written (with --workers, by
 * the worker that served it).
 */
export function attachLog(instance: string, logger: Logger, json?: DestinationStream, loggedElsewhere?: (r: ProxyRecord) => boolean): () => void {
  const onRecord = (msg: unknown) => {
    const r = msg as ProxyRecord;
    if (r.instance !== instance || loggedElsewhere?.(r)) return;
    logRecord(logger, r, json);
  };
  const onLifecycle = (msg: unknown) => {
    const e = msg as LifecycleEvent;
    if (e.instance !== instance) return;
    const level = WARN_EVENTS.has(e.event) ? 'warn' : 'info';
    logger[level]({ [F.event]: e.event, ...e.detail }, e.event);
  };
  recordChannel.subscribe(onRecord);
  lifecycleChannel.subscribe(onLifecycle);
  return () => {
    recordChannel.unsubscribe(onRecord);
    lifecycleChannel.unsubscribe(onLifecycle);
  };
}
