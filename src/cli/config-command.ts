import { Command } from 'commander';
import { ConfigError, parseConfig, readConfigFile } from '../config/load.js';
import { configJsonSchema, type Config } from '../config/schema.js';
import { UsageError } from './usage-error.js';

/** The parent proxy's password is a secret; the rest of the config is not. */
function redacted(config: Config): Config {
  if (!config.upstreamProxy) return config;
  const url = new URL(config.upstreamProxy.url);
  if (url.password) url.password = 'REDACTED';
  return { ...config, upstreamProxy: { ...config.upstreamProxy, url: url.href } };
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('the configuration file: JSON Schema and validation');
  config
    .command('schema')
    .description('print the JSON Schema of the config file (for editor completion)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
  config
    .command('check')
    .argument('<file>', 'YAML config file')
    .description('validate a config file and print it with every default filled in')
    .action((file: string) => {
      try {
        const parsed = parseConfig(readConfigFile(file), file);
        process.stdout.write(`${JSON.stringify(redacted(parsed), null, 2)}\n`);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
    });
}
