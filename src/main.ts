#!/usr/bin/env -S npx tsx
// flowbridge command line: flags and config → pipeline → run until a signal.
import { parseCli, STOP_TIMEOUT_SECONDS, USAGE } from './cli.ts';
import { ConfigError, readConfigFile, resolveConfig } from './config.ts';
import { startFlowbridge, VERSION } from './flowbridge.ts';
import { pushCommand } from './push/offline-cli.ts';
import { agentCommand } from './agent/main.ts';
import { startAgentBesideCollector } from './agent/beside-collector.ts';
import { stopWithin } from './runtime/graceful-stop.ts';

async function main(): Promise<number> {
  if (process.argv[2] === 'push') {
    return pushCommand(process.argv.slice(3), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) });
  }
  if (process.argv[2] === 'agent') {
    return agentCommand(process.argv.slice(3), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) });
  }
  let config;
  let withAgent = false;
  let stopTimeoutSeconds = STOP_TIMEOUT_SECONDS;
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
    stopTimeoutSeconds = cli.stopTimeoutSeconds;
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
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log(`flowbridge: ${signal}, stopping (intake first, then queues and files; at most ${stopTimeoutSeconds} s)`);
  const now = () => {
    log('flowbridge: a second signal: exiting now, without flushing');
    process.exit(1);
  };
  process.once('SIGINT', now);
  process.once('SIGTERM', now);
  const left = await stopWithin(async () => {
    await agent?.stop();
    await running.stop();
  }, () => running.stopPending(), stopTimeoutSeconds * 1000);
  if (left) {
    log(`flowbridge: not stopped within ${stopTimeoutSeconds} s (--stop-timeout); exiting without: ${left.join('; ')}`);
    process.exit(1);
  }
  log('flowbridge: stopped');
  // A handle nobody closed must not keep the process past its bound.
  setTimeout(() => process.exit(0), 1_000).unref();
  return 0;
}

process.exitCode = await main();
