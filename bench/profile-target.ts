// What `bench/profile.ts` runs under `node --cpu-prof`: the real pipeline fed by the
// load generator at one fixed rate, then a clean stop so every thread writes its profile.
//   profile-target.ts LOADGEN SCENARIO(a|b) EVENTS_PER_SECOND SECONDS
import { cleanUpOnExit } from './children.ts';
import { startPipeline, runStep, SCENARIOS } from './ingest.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
cleanUpOnExit(log);
const [loadgen, name, eventsPerSecond, seconds] = process.argv.slice(2);
const scenario = SCENARIOS.find((s) => s.name === name);
if (!scenario) throw new Error(`scenario ${name}: a or b`);
const p = await startPipeline();
try {
  const r = await runStep(p, loadgen, scenario, Number(eventsPerSecond), 1, { seconds: Number(seconds) });
  log(
    `profiled ${scenario.name}: sent ${r.sentEvents}, merged ${r.merged}, sustained ${r.sustainedEventsPerSecond} events/s, unaccounted ${r.unaccounted}; ` +
      `cores used: main thread ${r.cpu.main}, collector thread ${r.cpu.busiestOther}, other threads ${r.cpu.rest}, whole machine ${r.cpu.machine}`,
  );
} finally {
  await p.stop();
}
