// `npm run soak -- --minutes N`: flowbridge under steady load for N minutes (see
// soak-run.ts), a report every interval, then a summary and a verdict; the whole run
// is written as JSON to bench/results/soak.json (or --out). Exit code 1 when the
// verdict fails, 2 for a bad flag. Needs root (live capture on lo).
//
//   npm run soak -- --minutes 30
//   npm run soak -- --seconds 60 --rate 20000 --out /tmp/soak.json
//   options: --minutes M | --seconds S    how long the load runs (default 5 minutes)
//            --rate R                     events/s of the steady stream (default: half the capacity)
//            --capacity C                 the ingest capacity in events/s (default: bench/results'
//                                         ingest figure, scenario b, else a 5-s calibration)
//            --interval S                 seconds between reports (default 10; 60 from 30 minutes on)
//            --out FILE                   where the JSON goes (default bench/results/soak.json)
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RESULTS_DIR } from './build.ts';
import { cleanupAll, cleanUpOnExit } from './children.ts';
import { runSoak, type SoakResult } from './soak-run.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
cleanUpOnExit(log);

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    log(`soak: ${flag} ${JSON.stringify(value)}: expected a number above 0`);
    process.exit(2);
  }
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      minutes: { type: 'string' }, seconds: { type: 'string' }, rate: { type: 'string' },
      capacity: { type: 'string' }, interval: { type: 'string' }, out: { type: 'string' },
    },
  }));
} catch (err) {
  log(`soak: ${(err as Error).message} (accepted: --minutes, --seconds, --rate, --capacity, --interval, --out)`);
  process.exit(2);
}
const seconds = positive(values.seconds, '--seconds') ?? (positive(values.minutes, '--minutes') ?? 5) * 60;
const out = values.out ? resolve(values.out) : `${RESULTS_DIR}soak.json`;

const result: SoakResult = await runSoak({
  seconds,
  eventsPerSecond: positive(values.rate, '--rate'),
  capacity: positive(values.capacity, '--capacity'),
  intervalSeconds: positive(values.interval, '--interval') ?? (seconds >= 1800 ? 60 : 10),
}, log);

const b = result.balance;
const m = result.memory;
const MIB = 1024 * 1024;
const summary = [
  '',
  `soak: ${(result.seconds / 60).toFixed(1)} min at ${result.eventsPerSecond} events/s (${result.rateFrom}) on ${result.machine.cpu}, ${result.machine.cores} cores, load ${result.machine.loadAtStart} → ${result.machine.loadAtEnd}`,
  `  events: sent ${b.sentEvents}, received ${b.receivedEvents}, merged ${b.merged}, dropped ${JSON.stringify(b.dropped)}, unaccounted ${b.unaccounted}`,
  `  malformed: sent ${JSON.stringify(b.malformed.expected)}, counted ${JSON.stringify(b.malformed.counted)}`,
  `  memory (collector + capture processes): first half peak ${(m.firstHalfMaxBytes / MIB).toFixed(1)} MiB, last quarter ${(m.lastQuarterMinBytes / MIB).toFixed(1)}–${(m.lastQuarterMaxBytes / MIB).toFixed(1)} MiB (limit: peak ${(m.limitBytes / MIB).toFixed(1)}), second-half slope ${m.secondHalfSlopeMiBPerMinute} MiB/min; live heap after full collections: first half at most ${(m.liveHeap.firstHalfMaxBytes / MIB).toFixed(1)} MiB, last quarter at least ${(m.liveHeap.lastQuarterMinBytes / MIB).toFixed(1)} MiB (limit ${(m.liveHeap.limitBytes / MIB).toFixed(1)})`,
  `  lo: ${result.loopback.udpDatagrams} UDP datagrams and ${result.loopback.tcpConnections} TCP connections sent, ${result.loopback.captured.packets} packets captured, kernel drops ${result.loopback.captured.kernelDrops}`,
  `  requests: ${result.requests.total}, failed ${result.requests.failures}; settings changes ${result.settingsChanges}; restarts ${result.restarts.supervised} (capture processes started ${result.restarts.captureProcessStarts})`,
  `  collector stopped on SIGTERM: ${result.collector.stop ? `exit ${result.collector.stop.code ?? result.collector.stop.signal} in ${result.collector.stop.seconds} s` : 'it had exited'}`,
  `  verdict: ${result.verdict.passed ? 'PASS' : `FAIL\n    ${result.verdict.failures.join('\n    ')}`}`,
].join('\n');
console.log(summary);

mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
log(`written to ${out}`);
await cleanupAll();
process.exit(result.verdict.passed ? 0 : 1);
