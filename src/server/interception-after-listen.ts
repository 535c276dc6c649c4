import type { createInterception } from '../inspect/interception.js';

type Factory = typeof createInterception;
type Interceptor = ReturnType<Factory>;

/**
 * Interception's setup is built once the proxy port listens instead of before: its upstream trust
 * store (every bundled and system root parsed into one secure context) and its leaf cache were
 * about half of inspect's CPU before listen. startProxy calls build() synchronously right after
 * the listen, so no connection is handled before it, and a setup error (an unreadable or
 * malformed --upstream-ca) still fails the start, with the same message.
 */
export function interceptionAfterListen(factory: Factory): { factory: Factory; build(): void } {
  let make: (() => Interceptor) | undefined;
  let real: Interceptor | undefined;
  const get = () => (real ??= make!());
  return {
    factory: (...args) => {
      make = () => factory(...args);
      return {
        wants: (dest, decision) => get().wants(dest, decision),
        run: (ctx, handOff) => get().run(ctx, handOff),
        closeIdle: () => real?.closeIdle(),
        close: () => real?.close(),
      };
    },
    build: () => {
      if (make) get();
    },
  };
}
