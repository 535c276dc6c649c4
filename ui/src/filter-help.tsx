import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api';

interface Help {
  entries: Array<{ syntax: string; meaning: string; example: string }>;
  operators: string;
}

/** The filter language's reference, as the server that parses it describes it. */
export function FilterHelp({ onClose, onPick }: { onClose: () => void; onPick: (example: string) => void }) {
  const [help, setHelp] = useState<Help | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    getJson<Help>('api/filter-help').then(setHelp, (e: Error) => setError(e.message));
  }, []);
  return (
    <div class="help" role="dialog" aria-label="filter help">
      <div class="help-head">
        <strong>Filter language</strong>
        <button type="button" class="ghost" onClick={onClose} aria-label="close help">
          ✕
        </button>
      </div>
      {error && <p class="muted">The server did not describe its filter language: {error}</p>}
      {help && (
        <>
          <table>
            <tbody>
              {help.entries.map((e) => (
                <tr key={e.syntax}>
                  <td>
                    <code>{e.syntax}</code>
                  </td>
                  <td>{e.meaning}</td>
                  <td>
                    <button type="button" class="link" title="use this example" onClick={() => onPick(e.example)}>
                      <code>{e.example}</code>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>{help.operators}</p>
        </>
      )}
      <p class="muted">
        Keys: <kbd>/</kbd> filter, <kbd>↑</kbd>/<kbd>↓</kbd> move, <kbd>Enter</kbd> open, <kbd>Esc</kbd> close the detail.
      </p>
    </div>
  );
}
