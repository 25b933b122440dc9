// Where the ingest time goes: runs one ingest scenario at a fixed rate under
// `node --cpu-prof` (a profile per thread: the main thread, the collector's receive
// thread) and prints each thread's top functions and files by self time.
//   npx tsx bench/profile.ts [a|b] [EVENTS_PER_SECOND] [SECONDS]
// Profiles are kept in bench/results/profile-<scenario>/ (open them in Chrome DevTools).
// V8 samples wall time: a thread blocked in a native call (libzmq's receive waiting
// for a message) shows as busy in that call; /proc's CPU figures printed first are the truth.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { TSX_LOADER } from '../src/runtime/ts-worker.ts';
import { buildTools, RESULTS_DIR } from './build.ts';
import { cleanUpOnExit, finished, start } from './children.ts';
import { renderSummary, summarise } from './profile-summary.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
cleanUpOnExit(log);
const [scenario = 'a', rate = scenario === 'a' ? '100000' : '150000', seconds = '5'] = process.argv.slice(2);
const dir = `${RESULTS_DIR}profile-${scenario}`;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const child = start(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--max-semi-space-size=64', '--import', TSX_LOADER, new URL('./profile-target.ts', import.meta.url).pathname, buildTools().loadgen, scenario, rate, seconds], { stdio: ['ignore', 'inherit', 'inherit'] });
const r = await finished(child, (Number(seconds) + 120) * 1000);
if (r.code !== 0) throw new Error(`profiled run failed (${r.code})`);

// One file per thread: the main thread's profile is the one that ran profile-target.ts.
const summaries = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => ({ f, s: summarise(`${dir}/${f}`) }));
summaries.sort((a, b) => b.s.busyMs - a.s.busyMs);
for (const { f, s } of summaries) console.log(`${renderSummary(f, s)}\n`);
