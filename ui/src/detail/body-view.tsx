import { useEffect, useMemo, useState } from 'preact/hooks';
import { bodyBytes, type BodyBytes } from '../api';
import { size } from '../format';

const MAX_SHOWN = 2 * 1024 * 1024;
const MAX_HEX = 64 * 1024;

type Kind = 'json' | 'image' | 'text' | 'hex';

function charsetOf(contentType: string): string {
  const m = /charset\s*=\s*"?([A-Za-z0-9._:-]+)/i.exec(contentType);
  return m?.[1]?.toLowerCase() ?? 'utf-8';
}

function decodeText(bytes: Uint8Array, charset: string, fatal: boolean): string | null {
  try {
    return new TextDecoder(charset, { fatal }).decode(bytes);
  } catch {
    return null;
  }
}

function kindOf(type: string, bytes: Uint8Array): Kind {
  const t = type.toLowerCase();
  if (/^image\/(png|jpe?g|gif|webp|avif|bmp|x-icon|vnd\.microsoft\.icon|svg\+xml)/.test(t)) return 'image';
  if (/[/+]json\b/.test(t)) return 'json';
  if (/^text\/|[/+]xml\b|javascript|x-www-form-urlencoded|graphql|yaml|csv/.test(t)) return 'text';
  if (bytes.includes(0)) return 'hex';
  return decodeText(bytes.subarray(0, 64 * 1024), 'utf-8', true) !== null ? 'text' : 'hex';
}

export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < Math.min(bytes.length, MAX_HEX); at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > MAX_HEX) lines.push(`… ${bytes.length - MAX_HEX} more bytes (download the body to see them)`);
  return lines.join('\n');
}

/** A body rendered by its content type: pretty JSON, text in its charset, an image, or hex. */
export function BodyView({ id, which, capturedSize, version }: { id: string; which: 'request' | 'response'; capturedSize: number; version: string }) {
  const [body, setBody] = useState<BodyBytes | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [raw, setRaw] = useState(false);
  useEffect(() => {
    setBody(undefined);
    setError(undefined);
    bodyBytes(id, which).then(setBody, (e: Error) => setError(e.message));
  }, [id, which, version]);

  const view = useMemo(() => {
    if (!body) return undefined;
    const kind = raw ? (kindOf('', body.bytes) === 'text' ? 'text' : 'hex') : kindOf(body.contentType, body.bytes);
    return { kind, body };
  }, [body, raw]);
  const [imgUrl, setImgUrl] = useState<string | undefined>();
  useEffect(() => {
    if (view?.kind !== 'image') return;
    const url = URL.createObjectURL(new Blob([view.body.bytes], { type: view.body.contentType.split(';')[0] }));
    setImgUrl(url);
    return () => URL.revokeObjectURL(url);
  }, [view]);

  if (error) return <p class="muted">{error}</p>;
  if (!view) return capturedSize === 0 ? null : <p class="muted">Loading the body…</p>;
  const b = view.body;
  const notes = [];
  if (b.truncated) notes.push(<p class="note" key="t">Truncated: {b.size > 0 ? `${size(b.bytes.length)} shown of ${size(b.size)}` : ''} — the capture kept the first bytes only ({b.bytes.length} bytes captured, {b.size} sent).</p>);
  if (b.decoded) notes.push(<p class="muted" key="d">Decoded from {b.decoded}.</p>);
  if (b.decodeError) notes.push(<p class="note" key="e">{b.decodeError}; shown as sent.</p>);
  if (b.bytes.length === 0) return <>{notes}<p class="muted">No body captured.</p></>;

  let content;
  if (view.kind === 'image') content = imgUrl ? <img class="body-img" src={imgUrl} alt={`${which} body (${b.contentType})`} /> : null;
  else if (view.kind === 'hex') content = <pre class="body hex">{hexDump(b.bytes)}</pre>;
  else {
    const shown = b.bytes.length > MAX_SHOWN ? b.bytes.subarray(0, MAX_SHOWN) : b.bytes;
    let text = decodeText(shown, charsetOf(b.contentType), false) ?? decodeText(shown, 'utf-8', false) ?? '';
    if (view.kind === 'json') {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        notes.push(<p class="muted" key="j">Not valid JSON{b.truncated ? ' (it was cut)' : ''}: shown as text.</p>);
      }
    }
    content = <pre class={`body ${view.kind}`}>{text}{b.bytes.length > MAX_SHOWN ? `\n… ${b.bytes.length - MAX_SHOWN} more bytes (download the body)` : ''}</pre>;
  }
  return (
    <>
      <div class="body-bar">
        <span class="muted">{b.contentType || 'no content-type'} · {size(b.bytes.length)}</span>
        <label>
          <input type="checkbox" checked={raw} onChange={() => setRaw(!raw)} /> raw
        </label>
        <a href={`api/flows/${encodeURIComponent(id)}/${which}/body`} download={`${id}-${which}.bin`}>
          download
        </a>
      </div>
      {notes}
      {content}
    </>
  );
}
