// `flowbridge push --offline`: the offline push run in this process, without a running
// collector (FMADIO's `push_realtime.lua --force --offline`). Targets come from the
// config file and `<data-dir>/push-targets.json`; the recording from
// `<pcap-dir>/<interface id>/` (ids as the collector numbers its interfaces: give the
// same --config or -i flags). Prints each file as it is written; in RCLONE mode waits
// until the uploader has emptied the spool.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, readConfigFile, resolveConfig, type ConfigFile } from '../config.ts';
import { secondsToNs } from '../recording/extraction-request.ts';
import { EMPTY_REASON_TEXT } from '../recording/reader.ts';
import { startTsWorker } from '../runtime/ts-worker.ts';
import type { OfflineOutcome } from './offline.ts';
import type { OfflineMessage } from './offline-worker.ts';
import { PushTargets } from './push-targets.ts';

export const PUSH_USAGE = `Usage: flowbridge push --offline --target <desc> --begin <s> --end <s> [options]

Pushes a stored time range of the continuous recording through a push target, as the
collector pushes live traffic: the target's filter, split, file names and path (RCLONE:
its spool, then uploaded with rclone).

  --offline               push stored packets (the only mode)
  --target <desc>         the push target (from --config or <data-dir>/push-targets.json)
  --begin <s>, --end <s>  the range in epoch seconds, fractions allowed; both ends included
  --config <file>         the collector's JSON configuration
  --data-dir <dir>        the collector's data directory (default as the collector's)
  --pcap-dir <dir>        where recordings are (default <data-dir>/pcap)
  -i, --interface <v>     the collector's interfaces in order, when not in --config
                          (the recording is <pcap-dir>/<interface id>/)
`;

export interface PushCommandIo {
  out(line: string): void;
  err(line: string): void;
}

/** Runs `flowbridge push ...`; resolves with the exit code (2: bad flags, 1: the push failed). */
export async function pushCommand(argv: string[], io: PushCommandIo): Promise<number> {
  const bad = (why: string) => {
    io.err(`flowbridge push: ${why}\n${PUSH_USAGE}`);
    return 2;
  };
  let v;
  try {
    v = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        offline: { type: 'boolean' }, target: { type: 'string' }, begin: { type: 'string' }, end: { type: 'string' },
        config: { type: 'string' }, 'data-dir': { type: 'string' }, 'pcap-dir': { type: 'string' },
        interface: { type: 'string', short: 'i', multiple: true }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return bad((err as Error).message);
  }
  if (v.help) {
    io.out(PUSH_USAGE);
    return 0;
  }
  if (!v.offline) return bad('--offline is required (pushing stored packets is the only mode of this command)');
  if (!v.target) return bad('--target <desc> is required');
  if (v.begin === undefined || v.end === undefined) return bad('--begin and --end are required: the range in epoch seconds, fractions allowed');
  let beginNs: bigint;
  let endNs: bigint;
  try {
    beginNs = secondsToNs(v.begin, '--begin');
    endNs = secondsToNs(v.end, '--end');
  } catch (err) {
    return bad((err as Error).message);
  }
  if (beginNs > endNs) return bad(`--begin (${v.begin}) is after --end (${v.end})`);

  let config;
  try {
    const flags: ConfigFile = { interfaces: v.interface, dataDir: v['data-dir'], pcapDir: v['pcap-dir'] };
    config = resolveConfig(v.config ? readConfigFile(v.config) : {}, flags);
  } catch (err) {
    if (err instanceof ConfigError) return bad(err.message);
    throw err;
  }
  const targets = new PushTargets(config.dataDir, config.pushTargets);
  for (const p of targets.problems) io.err(`flowbridge push: ${p}`);
  let spec;
  try {
    spec = targets.find(v.target);
  } catch (err) {
    return bad((err as Error).message);
  }
  const id = config.interfaces.findIndex((i) => i.name === spec.interface);
  if (id < 0) return bad(`push target ${spec.desc}: interface ${spec.interface} is not among the interfaces (${config.interfaces.map((i) => i.name).join(', ')}): give the collector's --config or -i flags`);
  const dir = join(config.pcapDir, String(id));
  if (!existsSync(dir)) return bad(`push target ${spec.desc}: nothing is recorded for interface ${id} (${spec.interface}): ${dir} does not exist (give the collector's --pcap-dir, and --config or -i so the ids match)`);

  const work = targets.offlineWork(spec, dir, beginNs, endNs);
  io.out(`push ${spec.desc}: offline ${v.begin} to ${v.end} from ${dir} → ${spec.path} (${spec.split}, ${spec.fileName}${spec.filterBpf ? `, filter "${spec.filterBpf}"` : ''}); log ${work.sink.logPath}`);
  const uploader = spec.mode === 'rclone' ? targets.uploader(spec) : undefined;
  try {
    const outcome = await new Promise<OfflineOutcome>((resolve, reject) => {
      const worker = startTsWorker(new URL('./offline-worker.ts', import.meta.url), work);
      worker.on('message', (m: OfflineMessage) => {
        if (m.type === 'file') io.out(`${m.file.path} : ${m.file.packets} packets, ${m.file.bytes} bytes`);
        else if (m.type === 'done') resolve(m.outcome);
        else reject(new Error(m.message));
        if (m.type !== 'file') void worker.terminate();
      });
      worker.once('error', reject);
    });
    const drops = Object.entries(outcome.stats.dropped).map(([k, n]) => `${k} ${n}`).join(', ');
    io.out(`push ${spec.desc}: ${outcome.read} packets read, ${outcome.packets} pushed in ${outcome.files.length} files (${outcome.bytes} bytes), ${outcome.stats.filteredOut} not taken by the filter${drops ? `, dropped: ${drops}` : ''}`);
    if (outcome.emptyReason) io.out(`push ${spec.desc}: no packets: ${EMPTY_REASON_TEXT[outcome.emptyReason]}`);
    if (uploader) {
      io.out(`push ${spec.desc}: uploading the spool to ${spec.path.slice(0, spec.path.lastIndexOf('/') + 1) || spec.path}`);
      let shown = 0;
      for (;;) {
        const s = uploader.stats();
        if (s.failures > shown) {
          shown = s.failures;
          io.err(`push ${spec.desc}: upload failed (${s.lastError}); retrying, ${s.spoolFiles} files wait`);
        }
        if (s.spoolFiles === 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      io.out(`push ${spec.desc}: uploaded ${uploader.stats().uploaded} files`);
    }
    return outcome.stats.dropped['write-error'] ? 1 : 0;
  } catch (err) {
    io.err(`flowbridge push: ${(err as Error).message}`);
    return 1;
  } finally {
    uploader?.stop();
  }
}
