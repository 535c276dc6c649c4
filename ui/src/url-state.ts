/** The view lives in the URL (?filter=...&flow=id), so a view can be shared and survives reload. */
export function readUrl(): { filter: string; flow: string | undefined } {
  const p = new URLSearchParams(location.search);
  return { filter: p.get('filter') ?? '', flow: p.get('flow') ?? undefined };
}

export function writeUrl(filter: string, flow: string | undefined): void {
  const p = new URLSearchParams();
  if (filter !== '') p.set('filter', filter);
  if (flow) p.set('flow', flow);
  const q = p.toString();
  const next = `${location.pathname}${q ? `?${q}` : ''}`;
  if (next !== `${location.pathname}${location.search}`) history.replaceState(null, '', next);
}
