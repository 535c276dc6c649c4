import { useRef, useState } from 'preact/hooks';
import { filterQuery, send } from './api';

/** HAR out (the filtered view, or everything), HAR in, clear all, and the way to the CA page. */
export function Toolbar({ filter, shown, total, connected }: { filter: string; shown: number; total: number; connected: boolean }) {
  const file = useRef<HTMLInputElement>(null);
  const [note, setNote] = useState<string | undefined>();

  const importHar = async () => {
    const f = file.current?.files?.[0];
    if (!f) return;
    setNote(`Importing ${f.name}…`);
    try {
      const r = await send<{ imported: number; kept: number }>('POST', 'api/har', f, 'application/json');
      setNote(`Imported ${r?.imported ?? 0} entries from ${f.name}${r && r.kept < r.imported ? ` (${r.imported - r.kept} beyond the store's limits were dropped)` : ''}`);
    } catch (e) {
      setNote(`Import failed: ${(e as Error).message}`);
    } finally {
      if (file.current) file.current.value = '';
    }
  };
  const clear = async () => {
    if (!confirm('Delete every flow in the store?')) return;
    await send('DELETE', 'api/flows');
  };

  return (
    <div class="toolbar">
      <span class={`live ${connected ? 'on' : 'off'}`} title={connected ? 'new flows appear as they happen' : 'not connected: reconnecting'}>
        {connected ? '● live' : '○ offline'}
      </span>
      <span class="count" aria-live="polite">
        {filter ? `${shown} of ${total}` : `${shown}`} flows
      </span>
      <a class="button" href={`api/flows.har${filter ? `?${filterQuery(filter)}` : ''}`} download="egresskit.har" title="download the flows in view as HAR 1.2">
        HAR ↓{filter ? ' (filtered)' : ''}
      </a>
      {filter && (
        <a class="button" href="api/flows.har" download="egresskit-all.har" title="download every flow as HAR 1.2">
          HAR ↓ all
        </a>
      )}
      <label class="button" title="import a HAR file (read-only flows, marked imported)">
        HAR ↑ import
        <input ref={file} type="file" accept=".har,application/json" class="hidden" aria-label="import HAR" onChange={importHar} />
      </label>
      <button type="button" class="danger" onClick={clear}>
        Clear
      </button>
      <a class="button" href="./ca">
        Trust the CA
      </a>
      {note && (
        <span class="note" role="status">
          {note}
        </span>
      )}
    </div>
  );
}
