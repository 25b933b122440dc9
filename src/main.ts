#!/usr/bin/env -S npx tsx
// flowbridge command line: flags and config → pipeline → run until a signal.
import { parseCli, USAGE } from './cli.ts';
import { ConfigError, readConfigFile, resolveConfig } from './config.ts';
import { startFlowbridge, VERSION } from './flowbridge.ts';
import { pushCommand } from './push/offline-cli.ts';
import { agentCommand } from './agent/main.ts';
import { startAgentBesideCollector } from './agent/beside-collector.ts';

async function main(): Promise<number> {
  if (process.argv[2] === 'push') {
    return pushCommand(process.argv.slice(3), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) });
  }
  if (process.argv[2] === 'agent') {
    return agentCommand(process.argv.slice(3), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) });
  }
  let config;
  let withAgent = false;
  try {
    const cli = parseCli(process.argv.slice(2));
    if (cli.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (cli.version) {
      process.stdout.write(`flowbridge ${VERSION}\n`);
      return 0;
    }
    withAgent = cli.agent;
    config = resolveConfig(cli.configFile ? readConfigFile(cli.configFile) : {}, cli.flags);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`flowbridge: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let running;
  try {
    running = await startFlowbridge(config, { log: (line) => process.stdout.write(`${line}\n`) });
  } catch (err) {
    process.stderr.write(`flowbridge: ${(err as Error).message}\n`);
    return 1;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const agent = withAgent ? await startAgentBesideCollector(config, running.context.curvePublicKey, log) : undefined;
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stdout.write(`flowbridge: ${signal}, stopping\n`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await agent?.stop();
  await running.stop();
  return 0;
}

process.exitCode = await main();
