import { Command, CommanderError } from 'commander';
import { registerCertsCommands } from './certs-command.js';
import { registerConfigCommands } from './config-command.js';
import { registerDevCommand } from './dev-command.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerExplainCommand } from './explain-command.js';
import { registerFlowsCommands } from './flows-command.js';
import { registerK8sCommands } from './k8s-command.js';
import { registerProxyCommands } from './proxy-commands.js';
import { UsageError } from './usage-error.js';
import { VERSION } from '../version.js';

const PROXY_COMMANDS = new Set(['forward', 'mtls', 'inspect']);

export async function main(argv: string[]): Promise<void> {
  // `egresskit k8s render ... | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = new Command();
  program
    .name('egresskit')
    .description('Egress proxies for Kubernetes: forward and mtls proxies, certificates, manifests.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError();
  registerProxyCommands(program);
  // A proxy command is on the restart path: the other commands (a few hundred options and
  // help texts for commander to build) are only registered when one of them may be run.
  if (!PROXY_COMMANDS.has(argv[2] ?? '')) {
    registerCertsCommands(program);
    registerConfigCommands(program);
    registerExplainCommand(program);
    registerK8sCommands(program);
    registerFlowsCommands(program);
    registerDoctorCommand(program);
    registerDevCommand(program);
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message; help and version exit 0.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`egresskit: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
