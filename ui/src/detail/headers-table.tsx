import type { HeaderList } from '../api';

export function HeadersTable({ headers, title }: { headers: HeaderList; title: string }) {
  return (
    <section>
      <h4>{title}</h4>
      {headers.length === 0 ? (
        <p class="muted">none</p>
      ) : (
        <table class="kv">
          <tbody>
            {headers.map(([n, v], i) => (
              <tr key={i}>
                <th>{n}</th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
