// An interface's state in the API tells the truth while it starts: "starting" until its
// capture process has opened the device, then "running", or "error" with the reason.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';
import { resolveConfig } from '../../src/config.ts';
import { startFlowbridge, type RunningFlowbridge } from '../../src/flowbridge.ts';
import { itAsRoot } from '../support/privileges.ts';

type Status = { state: string; error?: string };
let started: Promise<RunningFlowbridge> | undefined;
afterEach(async () => {
  await (await started?.catch(() => undefined))?.stop();
  started = undefined;
});

/**
 * Starts flowbridge with these interfaces (the API on `port`) without waiting for it,
 * and records each interface's state as GET /api/v1/interfaces shows it, from the first
 * answer until start-up has finished.
 */
async function statesWhileStarting(port: number, interfaces: string[]): Promise<Map<string, Status[]>> {
  const flags = parseCli(['--http', `127.0.0.1:${port}`, '--data-dir', mkdtempSync(join(tmpdir(), 'fb-status-')), ...interfaces.flatMap((i) => ['-i', i])], {}).flags;
  started = startFlowbridge(resolveConfig({}, flags));
  let done = false;
  void started.catch(() => {}).finally(() => (done = true));
  const seen = new Map<string, Status[]>();
  const look = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/interfaces`).catch(() => undefined);
    if (!r) return;
    for (const i of ((await r.json()) as { interfaces: { name: string; status: Status }[] }).interfaces) {
      const states = seen.get(i.name) ?? [];
      if (states.at(-1)?.state !== i.status.state) states.push(i.status);
      seen.set(i.name, states);
    }
  };
  while (!done) {
    await look();
    await new Promise((r) => setTimeout(r, 5));
  }
  await started; // a start-up that failed (the port taken, ...) says why here
  await look();
  return seen;
}

itAsRoot('a live interface shows "starting" until its device is open, then "running"', 'capture on lo', async () => {
  const seen = await statesWhileStarting(16546, ['lo']);
  expect(seen.get('lo')).toEqual([{ state: 'starting' }, { state: 'running' }]);
});

it('a device that cannot be opened goes from "starting" to "error", with the reason', async () => {
  const seen = await statesWhileStarting(16547, ['fbnosuch3']);
  expect(seen.get('fbnosuch3')).toEqual([{ state: 'starting' }, { state: 'error', error: expect.stringMatching(/^cannot open capture on fbnosuch3: /) }]);
});
