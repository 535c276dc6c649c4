/**
 * egresskit as a library: start a real proxy inside your own tests or programs.
 *
 *   import { startProxy } from 'egresskit';
 *   const proxy = await startProxy({ listen: '127.0.0.1:0', admin: 'off' });
 *   // ... HTTPS_PROXY=proxy.url ...
 *   proxy.records();   // what it saw (or `for await (const r of proxy.recordStream())`; flows() in inspect)
 *   await proxy.close();
 */
import { parseConfig } from './config/load.js';
import type { ConfigInput } from './config/schema.js';
import { startProxy as startWithConfig, type ProxyHandle, type StartOptions } from './server/start-proxy.js';

export type { Config, ConfigInput, Mode } from './config/schema.js';
export type { ProxyHandle, StartOptions } from './server/start-proxy.js';
export type { ConfigSource, ReloadOutcome, ReloadTrigger } from './control/reload.js';
export type { ProxyRecord } from './model/record.js';
export type { Decision } from './model/decision.js';
export type { Flow } from './flows/flow.js';
export { ConfigError, parseConfig } from './config/load.js';
export { configJsonSchema } from './config/schema.js';
export { recordChannel, tunnelChannel, lifecycleChannel, phaseChannels, type PhaseEvent } from './model/channels.js';
export { ERROR_CODES, type ErrorCode } from './model/errors.js';
export { parseNoProxy, bypassesProxy } from './upstream/no-proxy.js';

/** Validates `config` like the CLI does (throws ConfigError naming the field) and starts it. */
export function startProxy(config: ConfigInput = {}, options: StartOptions = {}): Promise<ProxyHandle> {
  return startWithConfig(parseConfig(config, 'startProxy() config'), options);
}
export { egressProxyAgent, type EgressProxyAgentOptions } from './client/proxy-agent.js';
export {
  createCA,
  issueCert,
  loadCA,
  loadOrCreateCA,
  writeMtlsBundle,
  describeCert,
  k8sTlsSecretYaml,
  type CertBundle,
} from './certs/index.js';
