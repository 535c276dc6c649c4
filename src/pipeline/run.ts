import { notePhase, publishRecord } from '../model/channels.js';
import { formatHostPort, type Destination } from '../model/destination.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import { markFailed, type ProxyRecord } from '../model/record.js';
import { admissionError } from './admission.js';
import { budgetKey, type IdentityBudget } from './budgets.js';
import type { ProxyContext } from './context.js';
import type { Entry, Hop, Route } from './entry.js';
import { decideRoute } from './route.js';

/**
 * The pipeline every way in goes through:
 *   admit -> identify -> target -> decide(host) -> resolve -> decide(each address)
 *   -> dial with fallback over the allowed addresses -> hand off | error reply -> one record.
 * Settles when the exchange is over; never throws.
 */
export async function runPipeline<U>(ctx: ProxyContext, entry: Entry<U>): Promise<void> {
  const { record } = entry;
  let slot: IdentityBudget | undefined;
  try {
    if (entry.admit) {
      const refused = admissionError(ctx);
      if (refused) throw refused;
    }
    // Read once: a reload during this decision (bcrypt and DNS are awaited) does not reach it.
    const version = ctx.live.current;
    record.configVersion ??= version.id;
    record.identity = await entry.identify(version);
    // Budgets are per identity, so they come after identify, and before any lookup or dial.
    if (entry.admit && ctx.guards.budgets) slot = ctx.guards.budgets.admit(budgetKey(record), record.kind !== 'http');
    const dest = entry.target();
    const route = entry.decided ? entry.decided() : await decideRoute({ dest, identity: record.identity, method: entry.method }, ctx, version.policy, record);
    const { upstream, hop } = await dialRoute(entry, route, record);
    if (entry.clientGone()) {
      entry.close(upstream);
      record.error ??= 'client_gone';
      record.errorDetail ??= 'the client closed the connection before the destination was reached';
      entry.capture?.fail(record.error, record.errorDetail);
    } else {
      await entry.handOff(upstream, { dest: route.dest, hop });
    }
  } catch (err) {
    const e = markFailed(record, toProxyError(err, record.resolved), entry.capture);
    entry.reply(e);
  }
  if (slot) ctx.guards.budgets!.release(slot);
  publishRecord(record);
}

/** Only these mean "nothing is there, try the next address", as browsers do; anything else is final. */
const TRY_NEXT = new Set(['connect_refused', 'connect_unreachable']);

/** Dials the route's hops in order, noting on the record which one was used and how long it took. */
export async function dialRoute<U>(entry: Pick<Entry<U>, 'dial' | 'reused'>, route: Route, record: ProxyRecord): Promise<{ upstream: U; hop: Hop }> {
  let last: ProxyError | undefined;
  for (const hop of route.hops) {
    noteHop(record, hop, route.dest);
    const started = performance.now();
    try {
      const upstream = await entry.dial(hop, route.dest);
      if (!entry.reused?.(upstream)) notePhase(record, 'connect', started);
      return { upstream, hop };
    } catch (err) {
      last = toProxyError(err, record.resolved);
      if (!TRY_NEXT.has(last.code)) break;
    }
  }
  throw last ?? new ProxyError('internal', 'no address to dial');
}

function noteHop(record: ProxyRecord, hop: Hop, dest: Destination): void {
  record.via = hop.via;
  record.decision = hop.decision;
  record.resolved = hop.via === 'parent' ? hop.parent.display : formatHostPort(hop.ip, dest.port);
}
