import { filterQuery, listFlows, type FlowSummary } from './api';

type FlowEventData = { type: 'add' | 'update'; flow: FlowSummary } | { type: 'clear' } | { type: 'evict' | 'delete'; id?: string; flow?: FlowSummary };

export interface LiveState {
  /** Newest first. */
  flows: FlowSummary[];
  total: number;
  connected: boolean;
}

/**
 * The filtered list, kept live: the event stream opens first and its events are held until the
 * list has arrived, so nothing that happens in between is lost. Changes are applied at most
 * once per animation frame, however fast flows arrive.
 */
export class LiveFlows {
  #flows: FlowSummary[] = [];
  #index = new Map<string, number>();
  #total = 0;
  #es: EventSource | undefined;
  #held: FlowEventData[] | undefined = [];
  #frame = 0;
  #pending: FlowEventData[] = [];
  #connected = false;
  #closed = false;
  #stale = false;

  constructor(
    readonly filter: string,
    private readonly onChange: (s: LiveState) => void,
    private readonly onError: (e: unknown) => void,
  ) {}

  async start(): Promise<void> {
    try {
      // A bad filter is found with an empty list, before an event stream is opened for it.
      await listFlows(this.filter, 0);
    } catch (err) {
      this.onError(err);
      return;
    }
    if (this.#closed) return;
    this.#es = new EventSource(`api/events?${filterQuery(this.filter)}`);
    let opened = false;
    this.#es.addEventListener('open', () => {
      this.#setConnected(true);
      // A reconnect may have missed events: read the list again.
      if (opened) void this.#load();
      opened = true;
    });
    this.#es.addEventListener('error', () => this.#setConnected(false));
    this.#es.addEventListener('flow', (m) => {
      const data = JSON.parse((m as MessageEvent<string>).data) as FlowEventData;
      if (this.#held) this.#held.push(data);
      else this.#queue(data);
    });
    await this.#load();
  }

  /** The list, then the events that arrived while it was on its way. */
  async #load(): Promise<void> {
    this.#held ??= [];
    try {
      const list = await listFlows(this.filter);
      if (this.#closed) return;
      this.#flows = list.flows;
      this.#total = list.total;
      this.#reindex();
      const held = this.#held ?? [];
      this.#held = undefined;
      for (const e of held) this.#apply(e);
      this.#emit();
    } catch (err) {
      this.#held = undefined;
      this.onError(err);
    }
  }

  close(): void {
    this.#closed = true;
    this.#es?.close();
    cancelAnimationFrame(this.#frame);
  }

  #setConnected(c: boolean): void {
    this.#connected = c;
    if (!this.#held) this.#emit();
  }

  #queue(e: FlowEventData): void {
    this.#pending.push(e);
    if (this.#frame === 0) {
      this.#frame = requestAnimationFrame(() => {
        this.#frame = 0;
        const batch = this.#pending;
        this.#pending = [];
        for (const ev of batch) this.#apply(ev);
        this.#emit();
      });
    }
  }

  #apply(e: FlowEventData): void {
    if (e.type === 'clear') {
      this.#flows = [];
      this.#total = 0;
      this.#index.clear();
      return;
    }
    if (e.type === 'add' || e.type === 'update') {
      const at = this.#at(e.flow.id);
      if (at !== undefined) this.#flows[at] = e.flow;
      else {
        this.#flows.unshift(e.flow);
        this.#total++;
        this.#stale = true;
      }
      return;
    }
    // Deletions carry {id}; a server that sends the flow instead is read too.
    const gone = e as { id?: string; flow?: FlowSummary };
    const id = gone.id ?? gone.flow?.id;
    const at = id === undefined ? undefined : this.#at(id);
    if (at === undefined) return;
    this.#flows.splice(at, 1);
    this.#total = Math.max(0, this.#total - 1);
    this.#stale = true;
  }

  /** Position of a flow; the index is rebuilt only when a lookup follows a change of order. */
  #at(id: string): number | undefined {
    if (this.#stale) this.#reindex();
    return this.#index.get(id);
  }

  #reindex(): void {
    this.#stale = false;
    this.#index.clear();
    this.#flows.forEach((f, i) => this.#index.set(f.id, i));
  }

  #emit(): void {
    // A new array each time: the list component compares by identity.
    this.onChange({ flows: this.#flows.slice(), total: this.#total, connected: this.#connected });
  }
}
