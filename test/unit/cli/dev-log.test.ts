import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modeTaggedStream } from '../../../src/cli/dev-log.js';

function collect(mode: string, format: 'json' | 'pretty', chunks: string[]): Promise<string> {
  let out = '';
  const stream = modeTaggedStream(mode, format, { write: (s) => ((out += s), true) });
  for (const c of chunks) stream.write(c);
  return new Promise((resolve) => stream.end(() => resolve(out)));
}

describe('egresskit dev: log lines tagged with their mode', () => {
  it('a JSON line gets a leading "mode" field and stays one valid JSON object', async () => {
    const out = await collect('inspect', 'json', ['{"level":"info","event":"http","url":"https://x/?mode=forward"}\n']);
    assert.ok(out.endsWith('\n'));
    assert.deepEqual(JSON.parse(out), { mode: 'inspect', level: 'info', event: 'http', url: 'https://x/?mode=forward' });
  });

  it('the "listening" line, which names its mode already, gets no duplicate key', async () => {
    const line = '{"level":"info","event":"listening","mode":"mtls","proxy":"127.0.0.1:8443"}\n';
    assert.equal(await collect('mtls', 'json', [line]), line);
  });

  it('pretty output is prefixed on every line of a multi-line entry', async () => {
    const out = await collect('forward', 'pretty', ['[12:00:00.000] INFO: connect\n    event: "connect"\n']);
    assert.equal(out, '[forward] [12:00:00.000] INFO: connect\n[forward]     event: "connect"\n');
  });
});
