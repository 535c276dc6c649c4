import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { isFilterError, type FilterError, type FlowSummary } from './api';
import { DetailPane } from './detail/detail-pane';
import { FilterBox } from './filter-box';
import { FlowList } from './flow-list';
import { LiveFlows } from './live';
import { Split } from './split';
import { Toolbar } from './toolbar';
import { readUrl, writeUrl } from './url-state';

export function App() {
  const initial = useMemo(readUrl, []);
  const [filter, setFilter] = useState(initial.filter);
  const [selected, setSelected] = useState<string | undefined>(initial.flow);
  const [flows, setFlows] = useState<FlowSummary[]>([]);
  const [total, setTotal] = useState(0);
  const [connected, setConnected] = useState(false);
  const [filterError, setFilterError] = useState<FilterError | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [cursorId, setCursorId] = useState<string | undefined>(initial.flow);
  const [focusFilter, setFocusFilter] = useState(0);
  const listBox = useRef<HTMLDivElement>(null);

  useEffect(() => writeUrl(filter, selected), [filter, selected]);

  // One live list per filter. A bad filter keeps the last good list on screen.
  useEffect(() => {
    const live = new LiveFlows(
      filter,
      (s) => {
        setFilterError(undefined);
        setLoadError(undefined);
        setFlows(s.flows);
        setTotal(s.total);
        setConnected(s.connected);
      },
      (err) => {
        if (isFilterError(err)) setFilterError(err);
        else setLoadError((err as Error).message);
      },
    );
    void live.start();
    return () => live.close();
  }, [filter]);

  const index = useMemo(() => new Map(flows.map((f, i) => [f.id, i])), [flows]);
  const cursor = cursorId !== undefined ? (index.get(cursorId) ?? 0) : flows.length > 0 ? 0 : -1;
  const onCursor = useCallback((i: number) => setCursorId(flows[i]?.id), [flows]);
  const focusList = () => listBox.current?.querySelector<HTMLElement>('.list')?.focus();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, [contenteditable]')) return;
      if (e.key === '/') {
        e.preventDefault();
        setFocusFilter((n) => n + 1);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const open = (id: string) => {
    setSelected(id);
    setCursorId(id);
  };
  const list = (
    <div class="list-box" ref={listBox}>
      <FlowList flows={flows} selected={selected} cursor={cursor} onCursor={onCursor} onOpen={open} onClose={() => setSelected(undefined)} />
    </div>
  );
  return (
    <div class="app">
      <header class="top">
        <span class="brand">egresskit</span>
        <FilterBox value={filter} error={filterError} onChange={setFilter} onLeave={focusList} focusKey={focusFilter} />
        <Toolbar filter={filter} shown={flows.length} total={total} connected={connected} />
      </header>
      {loadError && <div class="banner" role="alert">{loadError}</div>}
      <Split
        left={list}
        right={selected && <DetailPane id={selected} summary={flows[index.get(selected) ?? -1]} onClose={() => { setSelected(undefined); focusList(); }} onOpen={open} />}
      />
    </div>
  );
}
