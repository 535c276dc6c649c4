import { runInNewContext } from 'node:vm';

// Just enough DOM to run the UI page's script in Node against a real UI server. Setting
// innerHTML (or any other HTML sink) throws: the script must only ever set textContent.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escape = (s: string): string => s.replace(/[&<>"]/g, (c) => ESCAPES[c] ?? c);

export class FakeElement {
  readonly tagName: string;
  children: FakeElement[] = [];
  parent: FakeElement | null = null;
  dataset: Record<string, string> = {};
  className = '';
  #text = '';
  readonly listeners = new Map<string, (e: unknown) => void>();

  constructor(tag: string) {
    this.tagName = tag.toLowerCase();
  }
  get textContent(): string {
    return this.#text + this.children.map((c) => c.textContent).join('');
  }
  set textContent(v: string) {
    this.#text = String(v);
    this.#adopt([]);
  }
  set innerHTML(_v: string) {
    throw new Error('the page script set innerHTML');
  }
  set outerHTML(_v: string) {
    throw new Error('the page script set outerHTML');
  }
  insertAdjacentHTML(): never {
    throw new Error('the page script used insertAdjacentHTML');
  }
  #adopt(kids: FakeElement[]): void {
    for (const k of this.children) k.parent = null;
    this.children = [];
    this.append(...kids);
  }
  appendChild(k: FakeElement): FakeElement {
    this.append(k);
    return k;
  }
  append(...kids: FakeElement[]): void {
    for (const k of kids) {
      k.remove();
      k.parent = this;
      this.children.push(k);
    }
  }
  prepend(k: FakeElement): void {
    k.remove();
    k.parent = this;
    this.children.unshift(k);
  }
  replaceChildren(...kids: FakeElement[]): void {
    this.#text = '';
    this.#adopt(kids);
  }
  remove(): void {
    if (!this.parent) return;
    this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  replaceWith(k: FakeElement): void {
    const p = this.parent;
    if (!p) return;
    k.remove();
    p.children[p.children.indexOf(this)] = k;
    k.parent = p;
    this.parent = null;
  }
  closest(tag: string): FakeElement | null {
    return this.tagName === tag ? this : (this.parent?.closest(tag) ?? null);
  }
  addEventListener(type: string, fn: (e: unknown) => void): void {
    this.listeners.set(type, fn);
  }
  getAttribute(): null {
    return null;
  }
  /** Every element below this one, this one first. */
  all(): FakeElement[] {
    return [this, ...this.children.flatMap((c) => c.all())];
  }
  /** As a browser would serialise it: text always escaped. */
  get html(): string {
    const cls = this.className ? ` class="${escape(this.className)}"` : '';
    return `<${this.tagName}${cls}>${escape(this.#text)}${this.children.map((c) => c.html).join('')}</${this.tagName}>`;
  }
}

export interface FakePage {
  flows: FakeElement;
  detail: FakeElement;
  created: FakeElement[];
  /** Clicks a flow row (adding it first if the list does not have it) and waits for its detail. */
  open(id: string): Promise<FakeElement>;
}

/** Runs the page script with fetch going to `base`; no event stream. */
export function runPageScript(script: string, base: string): FakePage {
  const created: FakeElement[] = [];
  const byId = new Map(['flows', 'detail', 'clear'].map((id) => [id, new FakeElement(id === 'flows' ? 'tbody' : 'div')]));
  const document = {
    getElementById: (id: string) => byId.get(id) ?? null,
    querySelectorAll: () => [],
    createElement: (tag: string) => {
      const e = new FakeElement(tag);
      created.push(e);
      return e;
    },
  };
  class EventSource {
    addEventListener(): void {}
    close(): void {}
  }
  const context = {
    document,
    location: { search: '' },
    URLSearchParams,
    TextDecoder,
    atob,
    EventSource,
    fetch: (path: string, init?: RequestInit) => fetch(new URL(path, base), init),
  };
  runInNewContext(script, context, { timeout: 1000 });
  const flows = byId.get('flows')!;
  const detail = byId.get('detail')!;
  return {
    flows,
    detail,
    created,
    async open(id) {
      let tr = flows.children.find((c) => c.dataset.id === id);
      if (!tr) {
        tr = new FakeElement('tr');
        tr.dataset.id = id;
        flows.append(tr);
      }
      const before = detail.children[0];
      flows.listeners.get('click')?.({ target: tr });
      for (let i = 0; i < 200 && detail.children[0] === before; i++) await new Promise((r) => setTimeout(r, 5));
      return detail;
    },
  };
}

/** The script element's text in the page HTML (the one with our nonce). */
export function pageScript(html: string): string {
  const m = /<script nonce="[^"]+">([\s\S]*?)<\/script>/.exec(html);
  if (!m?.[1]) throw new Error('no nonce script in the page');
  return m[1];
}
