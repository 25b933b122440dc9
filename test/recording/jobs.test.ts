// Extraction jobs on a recording written by the real writer: a long job is stopped
// while it runs (its partial files removed), and a job that was running when the
// collector died is failed at the next start with the reason, while a queued one runs.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ExtractionJobs } from '../../src/recording/extraction-jobs.ts';
import { frame } from '../support/pcap-writer.ts';
import { waitFor } from '../support/wait.ts';
import { recordFrames, T0, tempDir, tsharkRead } from './support.ts';

const open: ExtractionJobs[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((j) => j.close()));
});

/** ~150 MB of 1000-byte UDP datagrams in 300 flows, one every 10 µs from T0. */
function bigRecording(): string {
  const dir = tempDir('jobs-rec');
  const frames = Array.from({ length: 150_000 }, (_, i) => frame({ src: `10.9.${i % 300 >> 8}.${i % 256}`, dst: '10.9.9.9', protocol: 'udp', sport: 30_000 + (i % 300), dport: 9, payload: 1000 }));
  recordFrames(dir, frames, 10);
  return dir;
}

function jobs(recording: string, out = tempDir('jobs')): ExtractionJobs {
  const j = new ExtractionJobs({ dir: out, recordingDir: () => recording });
  j.resume();
  open.push(j);
  return j;
}

const whole = { begin: String(T0 / 1000), end: String(T0 / 1000 + 10) };

it('stops a long job while it runs and removes what it wrote; a later one completes', async () => {
  const recording = bigRecording();
  const out = tempDir('jobs');
  const j = jobs(recording, out);
  const long = j.create(0, whole);
  await waitFor(() => j.get(long.id).status === 'running' && j.get(long.id).bytes > 0, 'the job to be writing', 20_000, 2);
  const stopped = await j.stop(long.id);
  expect(stopped).toMatchObject({ status: 'stopped', files: [] });
  expect(readdirSync(join(out, long.id))).toEqual([]);
  await expect(j.stop(long.id)).rejects.toThrow(/is stopped: only queued or running jobs can be stopped/);

  const small = j.create(0, { ...whole, bpf: 'udp src port 30007' });
  const done = await waitFor(() => (j.get(small.id).status === 'completed' ? j.get(small.id) : undefined), 'the small job');
  expect(done.packets).toBe(500);
  expect(tsharkRead(j.file(small.id, '1').path)).toHaveLength(500);
});

it('fails a job that was running when the collector stopped, and runs the queued ones at the next start', async () => {
  const recording = bigRecording();
  const out = tempDir('jobs-crash');
  const first = new ExtractionJobs({ dir: out, recordingDir: () => recording, maxConcurrent: 1 });
  first.resume();
  const running = first.create(0, whole);
  const queued = first.create(0, { ...whole, bpf: 'udp src port 30001' });
  await waitFor(() => first.get(running.id).status === 'running' && first.get(running.id).bytes > 0, 'the first job to be writing', 20_000, 2);
  expect(first.get(queued.id).status).toBe('queued');
  // The collector dies: its threads end without a word, its state file says "running".
  await first.close();

  const next = jobs(recording, out);
  expect(next.get(running.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/flowbridge stopped while this job ran; its partial files were removed/) });
  expect(readdirSync(join(out, running.id))).toEqual([]);
  const done = await waitFor(() => (next.get(queued.id).status === 'completed' ? next.get(queued.id) : undefined), 'the queued job to run');
  expect(done.packets).toBe(500);
});
