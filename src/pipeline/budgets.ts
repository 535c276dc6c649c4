import { ProxyError } from '../model/errors.js';
import type { ProxyRecord } from '../model/record.js';

export interface BudgetLimits {
  /** Open tunnels per identity; 0 is no limit. */
  maxTunnels: number;
  /** New tunnels and requests per second per identity; 0 is no limit. */
  rate: number;
  /** Tokens the bucket holds: how many may come at once after a quiet spell. */
  burst: number;
  /** Identities tracked at once. */
  maxIdentities: number;
}

/** One identity's budget: its open tunnels and its token bucket (refilled lazily, on use). */
export interface IdentityBudget {
  open: number;
  tokens: number;
  /** performance.now() when `tokens` was last brought up to date. */
  at: number;
}

/**
 * Whose budget a request spends: the client certificate's identity, else the proxy user, else
 * the client's address (without its port: each connection has a new one).
 */
export function budgetKey(record: Pick<ProxyRecord, 'identity' | 'client'>): string {
  const id = record.identity;
  if (id && id.kind !== 'anonymous' && id.principal !== null) return `${id.kind}:${id.principal}`;
  const c = record.client;
  const colon = c.lastIndexOf(':');
  const ip = c.startsWith('[') ? c.slice(1, c.indexOf(']')) : colon > 0 ? c.slice(0, colon) : c;
  return `address:${ip}`;
}

/**
 * Per-identity budgets, so that one workload cannot take the whole proxy: open tunnels and a
 * token bucket of new tunnels and requests per second. Checked after identify and before any
 * DNS lookup or dial; a refusal is a 429.
 *
 * Memory is bounded by `maxIdentities`. The map is kept in least-recently-seen order; an
 * identity with no open tunnel and a full bucket is the same as one never seen, so such
 * entries are dropped as they come to the front. At the cap, the least recently seen identity
 * without an open tunnel is forgotten (its bucket with it: a client spraying source addresses
 * gets no more than it would get with fresh addresses anyway); when every tracked identity
 * holds a tunnel, a new identity is refused with too_many_tunnels until one closes.
 */
export class Budgets {
  private readonly ids = new Map<string, IdentityBudget>();

  constructor(readonly limits: BudgetLimits) {}

  get tracked(): number {
    return this.ids.size;
  }

  /**
   * Spends one token, and for a tunnel one slot, of this identity's budget; throws the 429 when
   * either is exhausted (spending nothing). A tunnel's slot is given back with release().
   */
  admit(key: string, tunnel: boolean, now = performance.now()): IdentityBudget | undefined {
    const { maxTunnels, rate, burst } = this.limits;
    this.forgetOneIdle(now);
    let b = this.ids.get(key);
    if (b) {
      this.ids.delete(key);
    } else {
      this.makeRoom();
      b = { open: 0, tokens: burst, at: now };
    }
    this.ids.set(key, b);
    if (rate > 0) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
      b.at = now;
      if (b.tokens < 1) throw new ProxyError('rate_limited', `more than ${rate} per second (bursts of ${burst}) from ${key}`);
    }
    if (tunnel && maxTunnels > 0 && b.open >= maxTunnels) {
      throw new ProxyError('too_many_tunnels', `${b.open} tunnels are open for ${key} (budgets.maxTunnels ${maxTunnels})`);
    }
    if (rate > 0) b.tokens -= 1;
    if (!tunnel || maxTunnels === 0) return undefined;
    b.open++;
    return b;
  }

  release(b: IdentityBudget): void {
    b.open--;
  }

  /** Drops the least recently seen identity if it holds nothing a fresh one would not. */
  private forgetOneIdle(now: number): void {
    const first = this.ids.entries().next();
    if (first.done) return;
    const [key, b] = first.value;
    const { rate, burst } = this.limits;
    const full = rate === 0 || b.tokens + ((now - b.at) * rate) / 1000 >= burst;
    if (b.open === 0 && full) this.ids.delete(key);
  }

  /** At the cap, forgets the least recently seen identity without an open tunnel. */
  private makeRoom(): void {
    if (this.ids.size < this.limits.maxIdentities) return;
    // Identities holding tunnels move to the back as they are passed, so the next search does
    // not walk over them again: each search is short however many tunnels are open.
    for (let n = this.ids.size; n > 0; n--) {
      const [key, b] = this.ids.entries().next().value!;
      this.ids.delete(key);
      if (b.open === 0) return;
      this.ids.set(key, b);
    }
    throw new ProxyError('too_many_tunnels', `budgets are tracked for ${this.limits.maxIdentities} identities at most and every one of them has a tunnel open (budgets.maxIdentities)`);
  }
}
