import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { FlowSummary } from './api';
import { duration, markers, origin, size, statusClass, statusText } from './format';

export const ROW_HEIGHT = 22;
const OVERSCAN = 8;

interface Props {
  flows: FlowSummary[];
  selected: string | undefined;
  /** The keyboard cursor; Enter opens it. */
  cursor: number;
  onCursor: (i: number) => void;
  onOpen: (id: string) => void;
  onClose: () => void;
}

/**
 * A virtualised table: fixed row height, only the rows in view (plus a few) are in the DOM, so
 * 10,000 flows scroll like 10. Rows are absolutely placed inside a spacer as tall as the list.
 */
export function FlowList({ flows, selected, cursor, onCursor, onOpen, onClose }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Keep the cursor row in view when the keyboard moves it.
  useEffect(() => {
    const el = box.current;
    if (!el || cursor < 0) return;
    const top = cursor * ROW_HEIGHT;
    const view = el.clientHeight - ROW_HEIGHT; // minus the sticky header
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + view) el.scrollTop = top + ROW_HEIGHT - view;
  }, [cursor]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(flows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const f = flows[i]!;
    const cls = ['row', i % 2 ? 'odd' : '', f.id === selected ? 'sel' : '', i === cursor ? 'cur' : ''].join(' ');
    rows.push(
      <div key={f.id} class={cls} role="row" aria-selected={f.id === selected} data-id={f.id} style={{ top: `${i * ROW_HEIGHT}px` }} onClick={() => { onCursor(i); onOpen(f.id); }}>
        <span class="c-method" role="cell">{f.method}</span>
        <span class="c-origin" role="cell" title={origin(f)}>{origin(f)}</span>
        <span class="c-path" role="cell" title={f.path}>{f.kind === 'tunnel' ? '' : f.path}</span>
        <span class={`c-status ${statusClass(f)}`} role="cell">{statusText(f)}</span>
        <span class="c-size" role="cell">{f.websocket ? `${f.websocket.messages} msg` : size(f.responseSize)}</span>
        <span class="c-time" role="cell">{duration(f.durationMs)}</span>
        <span class="c-ident" role="cell" title={f.identity ?? ''}>{f.identity ?? ''}</span>
        <span class="c-proto" role="cell">{f.protocol}</span>
        <span class="c-marks" role="cell">
          {markers(f).map((m) => (
            <span key={m.text} class={`badge ${m.cls}`} title={m.title}>{m.text}</span>
          ))}
        </span>
      </div>,
    );
  }

  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'j') onCursor(Math.min(flows.length - 1, cursor + 1));
    else if (e.key === 'ArrowUp' || e.key === 'k') onCursor(Math.max(0, cursor - 1));
    else if (e.key === 'PageDown') onCursor(Math.min(flows.length - 1, cursor + Math.floor(height / ROW_HEIGHT)));
    else if (e.key === 'PageUp') onCursor(Math.max(0, cursor - Math.floor(height / ROW_HEIGHT)));
    else if (e.key === 'Home') onCursor(0);
    else if (e.key === 'End') onCursor(flows.length - 1);
    else if (e.key === 'Enter' && flows[cursor]) onOpen(flows[cursor].id);
    else if (e.key === 'Escape') onClose();
    else return;
    e.preventDefault();
  };

  return (
    <div class="list" ref={box} tabIndex={0} role="grid" aria-label="flows" aria-rowcount={flows.length} onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)} onKeyDown={onKey}>
      <div class="row head" role="row">
        <span class="c-method">Method</span>
        <span class="c-origin">Host</span>
        <span class="c-path">Path</span>
        <span class="c-status">Status</span>
        <span class="c-size">Size</span>
        <span class="c-time">Time</span>
        <span class="c-ident">Identity</span>
        <span class="c-proto">Proto</span>
        <span class="c-marks"></span>
      </div>
      <div class="spacer" style={{ height: `${flows.length * ROW_HEIGHT}px` }}>
        {rows}
      </div>
      {flows.length === 0 && <div class="empty">No flows{' '}yet. Send traffic through the proxy, or import a HAR file.</div>}
    </div>
  );
}
