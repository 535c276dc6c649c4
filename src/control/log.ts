import { pino, type DestinationStream, type Logger } from 'pino';
import { lifecycleChannel, recordChannel, type LifecycleEvent } from '../model/channels.js';
import type { ProxyRecord } from '../model/record.js';
import { F } from './log-fields.js';

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

function decisionWord(r: ProxyRecord): string | null {
  const d = r.decision;
  if (!d) return null;
  if (d.verdict === 'deny' && d.enforcement === 'report') return 'would-deny';
  return d.verdict;
}

/** The one line per tunnel / forwarded request / refused connection. */
export function recordLine(r: ProxyRecord): Record<string, unknown> {
  return {
    [F.event]: r.kind,
    [F.client]: r.client,
    [F.identity]: r.identity?.principal ?? null,
    [F.identityKind]: r.identity?.kind ?? null,
    [F.method]: r.method ?? null,
    [F.target]: r.target ?? null,
    [F.url]: r.url ?? null,
    [F.resolved]: r.resolved ?? null,
    [F.via]: r.via ?? null,
    [F.decision]: decisionWord(r),
    [F.configVersion]: r.configVersion ?? null,
    [F.rule]: r.decision?.ruleId ?? null,
    [F.reason]: r.decision?.reason ?? null,
    [F.status]: r.status ?? null,
    [F.bytesUp]: r.bytesUp,
    [F.bytesDown]: r.bytesDown,
    [F.durationMs]: r.durationMs ?? null,
    [F.dnsMs]: r.phases.dnsMs ?? null,
    [F.connectMs]: r.phases.connectMs ?? null,
    [F.tlsMs]: r.phases.tlsMs ?? null,
    [F.ttfbMs]: r.phases.ttfbMs ?? null,
    [F.tls]: r.tls ?? null,
    [F.sni]: r.sni ?? null,
    [F.sniMismatch]: r.sniMismatch ?? null,
    [F.error]: r.error ?? null,
    [F.errorDetail]: r.errorDetail ?? null,
    // Absent (not null) in a single process, so its lines stay as they were.
    ...(r.worker !== undefined ? { [F.worker]: r.worker } : {}),
  };
}

const WARN_EVENTS = new Set<LifecycleEvent['event']>(['reload_failed', 'config_reload_failed', 'needs_restart', 'warning', 'worker_exited']);

/** Writes one record's line (a worker of --workers does this itself, next to the record). */
export function logRecord(logger: Logger, r: ProxyRecord): void {
  const level = r.status !== undefined && r.status >= 500 ? 'warn' : 'info';
  logger[level](recordLine(r), r.kind);
}

/**
 * Subscribes a logger to one proxy instance's records and lifecycle events. `loggedElsewhere`
 * names records whose line was already written (with --workers, by the worker that served it).
 */
export function attachLog(instance: string, logger: Logger, loggedElsewhere?: (r: ProxyRecord) => boolean): () => void {
  const onRecord = (msg: unknown) => {
    const r = msg as ProxyRecord;
    if (r.instance !== instance || loggedElsewhere?.(r)) return;
    logRecord(logger, r);
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
