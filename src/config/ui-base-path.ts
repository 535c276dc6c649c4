/**
 * The path prefix the inspect UI answers under (--ui-base-path), as "/" or "/a/b/": leading and
 * trailing slash added, so "egress", "/egress" and "/egress/" are one prefix. undefined when it
 * cannot be a prefix an ingress would route (dot segments, empty segments, odd characters).
 */
export function normaliseBasePath(input: string): string | undefined {
  const trimmed = input.trim();
  const segments = trimmed.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
  if (segments.some((s) => s === '' || s === '.' || s === '..' || !/^[A-Za-z0-9._~-]+$/.test(s))) return undefined;
  return segments.length === 0 ? '/' : `/${segments.join('/')}/`;
}
