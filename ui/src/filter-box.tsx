import { useEffect, useRef, useState } from 'preact/hooks';
import type { FilterError } from './api';
import { FilterHelp } from './filter-help';

interface Props {
  value: string;
  error: FilterError | undefined;
  onChange: (v: string) => void;
  /** Called when the user presses Enter or ArrowDown: the list takes the keyboard. */
  onLeave: () => void;
  focusKey: number;
}

/**
 * The filter input. The filter is applied as it is typed (after a short pause); a filter the
 * server cannot parse is shown under the box with a caret at the offending character, and the
 * list keeps what it showed before, never a blank list.
 */
export function FilterBox({ value, error, onChange, onLeave, focusKey }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const [text, setText] = useState(value);
  const [help, setHelp] = useState(false);
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (focusKey > 0) input.current?.focus();
  }, [focusKey]);
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => onChange(text), 200);
    return () => clearTimeout(t);
  }, [text]);

  return (
    <div class="filter">
      <div class="filter-line">
        <input
          ref={input}
          type="search"
          class={error ? 'bad' : ''}
          placeholder="Filter: ~d example.com & ~c 4xx   (press / to focus, ? for help)"
          aria-label="filter"
          aria-invalid={error ? 'true' : 'false'}
          aria-describedby="filter-error"
          spellcheck={false}
          autocomplete="off"
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              onChange(text);
              onLeave();
            } else if (e.key === 'ArrowDown') onLeave();
            else if (e.key === 'Escape') (e.currentTarget as HTMLInputElement).blur();
            else return;
            e.preventDefault();
          }}
        />
        <button type="button" class="ghost" title="filter language help" aria-expanded={help} onClick={() => setHelp(!help)}>
          ?
        </button>
      </div>
      {error && (
        <div id="filter-error" class="filter-error" role="alert">
          <pre>
            {error.filter}
            {'\n'}
            {' '.repeat(Math.max(0, Math.min(error.position, error.filter.length)))}^
          </pre>
          <span>
            {error.error} (at character {error.position + 1})
          </span>
        </div>
      )}
      {help && <FilterHelp onClose={() => setHelp(false)} onPick={(ex) => { setText(ex); onChange(ex); }} />}
    </div>
  );
}
