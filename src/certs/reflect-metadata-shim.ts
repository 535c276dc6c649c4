/**
 * @peculiar/x509 v2 resolves its algorithm classes through tsyringe, and tsyringe throws at
 * import time unless a Reflect metadata API exists ("tsyringe requires a reflect polyfill",
 * see the x509 README and PeculiarVentures/x509#116). The proper fix is the `reflect-metadata`
 * package imported at the entry point; until it is a dependency, this installs the three
 * functions tsyringe calls, and only when nothing else has (a real polyfill loaded earlier wins).
 * x509's classes have no constructor parameters, so tsyringe only ever reads "no metadata".
 */
type MetadataKey = unknown;
type Target = object;

const store = new WeakMap<Target, Map<MetadataKey, unknown>>();

interface ReflectMetadata {
  defineMetadata(key: MetadataKey, value: unknown, target: Target): void;
  getOwnMetadata(key: MetadataKey, target: Target): unknown;
  getMetadata(key: MetadataKey, target: Target): unknown;
}

const reflect = Reflect as unknown as Partial<ReflectMetadata>;

if (typeof reflect.getMetadata !== 'function') {
  const shim: ReflectMetadata = {
    defineMetadata(key, value, target) {
      let entries = store.get(target);
      if (!entries) {
        entries = new Map();
        store.set(target, entries);
      }
      entries.set(key, value);
    },
    getOwnMetadata(key, target) {
      return store.get(target)?.get(key);
    },
    getMetadata(key, target) {
      for (let o: Target | null = target; o !== null; o = Object.getPrototypeOf(o) as Target | null) {
        const entries = store.get(o);
        if (entries?.has(key)) return entries.get(key);
      }
      return undefined;
    },
  };
  for (const [name, fn] of Object.entries(shim)) {
    Object.defineProperty(Reflect, name, { value: fn, writable: true, configurable: true });
  }
}
