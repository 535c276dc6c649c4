import { Command } from 'commander';
import { DEFAULT_LISTEN } from '../config/schema.js';
import { addInspectFlags, addProxyFlags, addTlsFlags, type ProxyFlags } from './proxy-flags.js';
import { runProxy } from './run-proxy.js';

export function registerProxyCommands(program: Command): void {
  addProxyFlags(
    program
      .command('forward')
      .description('HTTP forward proxy: CONNECT tunnels and absolute-URI HTTP, with policy, auth, logs and metrics'),
    DEFAULT_LISTEN.forward,
  ).action((flags: ProxyFlags) => runProxy('forward', flags));

  addInspectFlags(
    addTlsFlags(
      addProxyFlags(
        program
          .command('mtls')
          .description('zero-trust proxy: a TLS listener that requires client certificates; identities drive policy; --inspect adds TLS interception'),
        DEFAULT_LISTEN.mtls,
      ),
    ).option('--inspect', 'intercept TLS behind the client-certificate listener, as the inspect command does; the inspect flags below need it (an inspect section in the config file does the same)'),
  ).action((flags: ProxyFlags) => runProxy('mtls', flags));

  addInspectFlags(
    addProxyFlags(
      program
        .command('inspect')
        .description('TLS-intercepting proxy: decrypts CONNECT tunnels with its own CA and captures each exchange as a flow, with a web UI and HAR export'),
      DEFAULT_LISTEN.inspect,
    ),
  ).action((flags: ProxyFlags) => runProxy('inspect', flags));
}
