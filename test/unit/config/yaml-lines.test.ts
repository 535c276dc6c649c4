import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, parseConfig, readConfigFile } from '../../../src/config/load.js';
import { parsePath, yamlLocator } from '../../../src/config/yaml-lines.js';

const TEXT = `# egresskit
mode: forward
policy:
  connectPorts: [443]
  rules:
    - id: ok
      action: allow
      hosts: [example.com]
    - id: bad
      action: allow
      hosts:
        - api.example.com
        - "*.*.example.com"
timeouts:
  idle: soon
`;

describe('yamlLocator: the line of a field path', () => {
  const locate = yamlLocator(TEXT);
  const cases: Array<[PropertyKey[], number | undefined]> = [
    [['mode'], 2],
    [['policy', 'connectPorts'], 4],
    [['policy', 'rules', 1], 9],
    [['policy', 'rules', 1, 'hosts', 1], 13],
    [['timeouts', 'idle'], 15],
    // Missing below a present part: the deepest part that is there.
    [['policy', 'rules', 0, 'ports'], 6],
    [['policy', 'rules', 7], 5],
    [['limits'], undefined],
  ];
  for (const [path, line] of cases) test(`${JSON.stringify(path)} -> ${String(line)}`, () => assert.equal(locate(path), line));

  test('parsePath reads the printed form back', () => {
    assert.deepEqual(parsePath('policy.rules[12].hosts[0]'), ['policy', 'rules', 12, 'hosts', 0]);
  });
});

describe('parseConfig with an origin: each problem names its line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egk-lines-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every problem gets "line N:", the error carries the file and the first line', () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, TEXT.replace('mode: forward', 'mode: forward\nconectPorts: 1'));
    let err: unknown;
    try {
      parseConfig(readConfigFile(file), file, { file, locate: yamlLocator(TEXT.replace('mode: forward', 'mode: forward\nconectPorts: 1')) });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /line 3: unknown field "conectPorts"/);
    assert.match(err.message, /line 14: policy\.rules\[1\]\.hosts\[1\]: /);
    assert.match(err.message, /line 16: timeouts\.idle: "soon" is not a duration/);
    assert.equal(err.file, file);
    assert.equal(err.line, 3);
  });

  test('YAML syntax errors carry the line too', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'policy:\n  rules: [\n');
    assert.throws(() => readConfigFile(file), (e: unknown) => e instanceof ConfigError && e.file === file && typeof e.line === 'number');
  });
});
