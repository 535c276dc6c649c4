import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';

const KEY = 'egresskit.split';

/** Two panes side by side with a draggable divider; the width is remembered in this browser. */
export function Split({ left, right }: { left: ComponentChildren; right?: ComponentChildren }) {
  const [pct, setPct] = useState(() => Number(localStorage.getItem(KEY)) || 50);
  const box = useRef<HTMLDivElement>(null);
  const onDown = (e: PointerEvent) => {
    const el = e.currentTarget as HTMLElement;
    el.setPointerCapture(e.pointerId);
    const move = (m: PointerEvent) => {
      const r = box.current!.getBoundingClientRect();
      const p = Math.min(85, Math.max(15, ((m.clientX - r.left) / r.width) * 100));
      setPct(p);
      localStorage.setItem(KEY, String(Math.round(p)));
    };
    const up = () => {
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', up);
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', up);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowLeft') setPct((p) => Math.max(15, p - 5));
    else if (e.key === 'ArrowRight') setPct((p) => Math.min(85, p + 5));
  };
  return (
    <div class={right ? "split with-detail" : "split"} ref={box}>
      <div class="pane" style={{ flexBasis: right ? `${pct}%` : '100%' }}>{left}</div>
      {right && <div class="divider" role="separator" aria-orientation="vertical" aria-valuenow={Math.round(pct)} tabIndex={0} onPointerDown={onDown} onKeyDown={onKey} />}
      {right && <div class="pane right">{right}</div>}
    </div>
  );
}
