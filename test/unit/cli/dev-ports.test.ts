import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDistinctPorts, type DevOptions } from '../../../src/cli/dev-stack.js';

const defaults: DevOptions = { host: '127.0.0.1', forwardPort: 8888, inspectPort: 8080, uiPort: 8081, mtlsPort: 8443, adminPort: 9090 };

describe('egresskit dev: ports', () => {
  it('the defaults are all different', () => {
    assert.doesNotThrow(() => checkDistinctPorts(defaults));
  });

  it('two flags on one port name both flags', () => {
    assert.throws(() => checkDistinctPorts({ ...defaults, uiPort: 8080 }), /--inspect-port and --ui-port both ask for port 8080/);
  });

  it('the admin ports are --admin-port, +1 and +2: a proxy port on one of them is refused', () => {
    assert.throws(() => checkDistinctPorts({ ...defaults, mtlsPort: 9092 }), /--mtls-port and --admin-port both ask for port 9092/);
    assert.doesNotThrow(() => checkDistinctPorts({ ...defaults, mtlsPort: 9092, adminPort: 'off' }));
  });

  it('admin ports past 65535 are refused; 0 (a free port each) repeats freely', () => {
    assert.throws(() => checkDistinctPorts({ ...defaults, adminPort: 65535 }), /within 65535/);
    assert.doesNotThrow(() => checkDistinctPorts({ host: '127.0.0.1', forwardPort: 0, inspectPort: 0, uiPort: 0, mtlsPort: 0, adminPort: 0 }));
  });
});
