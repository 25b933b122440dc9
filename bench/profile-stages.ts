// Where the per-event time goes, stage by stage, without sockets: the collector
// thread's work (Ingest.message → packing) and the main thread's (unpacking, dispatch,
// merge into the ZMQ interface's flow table) run in turn over the load generator's own
// payloads under `node --cpu-prof`, each for a few seconds, and the top functions of
// each are printed. Steadier than profiling the live pipeline on a shared machine.
// Young generation as `npm start` and `npm run bench` size it (--max-semi-space-size=64).
//   npx tsx bench/profile-stages.ts [a|b] [SECONDS]
// The profile is kept in bench/results/profile-stages-<scenario>/.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { TSX_LOADER } from '../src/runtime/ts-worker.ts';
import { buildTools, RESULTS_DIR } from './build.ts';
import { cleanUpOnExit, finished, start } from './children.ts';
import { renderSummary, summarise } from './profile-summary.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
cleanUpOnExit(log);
const [scenario = 'b', seconds = '4'] = process.argv.slice(2);
const dir = `${RESULTS_DIR}profile-stages-${scenario}`;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

for (const part of ['collector', 'main']) {
  const child = start(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${part}.cpuprofile`, '--max-semi-space-size=64', '--import', TSX_LOADER, new URL('./profile-stages-target.ts', import.meta.url).pathname, buildTools().loadgen, scenario, part, seconds], { stdio: ['ignore', 'inherit', 'inherit'] });
  const r = await finished(child, (Number(seconds) + 120) * 1000);
  if (r.code !== 0) throw new Error(`profiled ${part} run failed (${r.code})`);
}
for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).sort()) console.log(`${renderSummary(f, summarise(`${dir}/${f}`, 25))}\n`);
