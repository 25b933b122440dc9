// The ingest rows and notes of the bench table: each figure against the parse floor
// measured in the same run (issue 14's yardstick) beside the C subscriber's ratio,
// and where the time goes, stage by stage.
import type { IngestResult } from './ingest.ts';

const rate = (n: number) => (n >= 995_000 ? `${(n / 1e6).toFixed(2)} M` : n >= 10_000 ? `${Math.round(n / 1000)} K` : `${(n / 1000).toFixed(1)} K`);

export function ingestRow(r: IngestResult): string[] {
  return [
    `ingest (${r.scenario}) ${r.description}: events/s, zero loss`,
    `${rate(r.eventsPerSecond)}${r.confirmation && !r.confirmation.passed ? ' (did not hold on a retry)' : ''}`,
    `parse floor ${rate(r.floor.eventsPerSecond)}; C subscriber ${rate(r.ceiling.eventsPerSecond)}`,
    `${r.floorRatio.toFixed(2)}× floor (${r.cpuFloorRatio.toFixed(2)}× on CPU time); ${Math.round(r.ceilingRatio * 100)}% of C sub`,
    `≥ ${r.floorGoal}× floor`,
    r.floorRatio >= r.floorGoal ? 'yes' : 'no',
  ];
}

export function floorNotes(results: IngestResult[]): string[] {
  if (results.length === 0) return [];
  return [
    'Parse floor: one thread that only decodes UTF-8 and JSON.parses the generator\'s own payloads (loadgen --dump), the best of 4 slices of 0.25 s before and after the search; per CPU second on an idle core in brackets. ' +
      '"On CPU time": the floor\'s CPU µs per event / the busiest pipeline thread\'s at the figure (main or collector): the share of the floor the pipeline would reach with a core per thread, little disturbed by other work on the machine.',
    ...results.map((r) => {
      const s = r.stages;
      const sum = Math.round((s.decode + s.validate + s.normalise + s.handoff + s.dispatch + s.merge) * 100) / 100;
      return (
        `  (${r.scenario}) floor ${rate(r.floor.eventsPerSecond)} events/s (${rate(r.floor.eventsPerCpuSecond)}/CPU s = ${(1e6 / r.floor.eventsPerCpuSecond).toFixed(2)} µs/event). ` +
        `Stages alone, CPU µs/event: decode ${s.decode}, validate ${s.validate}, normalise ${s.normalise}, hand-off ${s.handoff}, dispatch ${s.dispatch}, merge ${s.merge} (sum ${sum}); ` +
        `the collector thread's whole ingest ${s.collectorThread}.`
      );
    }),
  ];
}
