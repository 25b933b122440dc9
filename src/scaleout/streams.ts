// The JetStream streams and key-value bucket flowbridge uses, created by whichever node
// connects first (creating an existing stream with the same settings is a no-op).
// Every stream is bounded: oldest messages go first past its size or age.
import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { NatsSettings } from './settings.ts';

export const STREAMS = {
  flows: { name: 'FLOWBRIDGE_FLOWS', subjects: ['flowbridge.flows.>'], maxBytes: 256 * 2 ** 20 },
  alerts: { name: 'FLOWBRIDGE_ALERTS', subjects: ['flowbridge.alerts.>'], maxBytes: 64 * 2 ** 20 },
  processes: { name: 'FLOWBRIDGE_PROCESSES', subjects: ['flowbridge.processes.>'], maxBytes: 64 * 2 ** 20 },
  events: { name: 'FLOWBRIDGE_EVENTS', subjects: ['flowbridge.events.>'], maxBytes: 256 * 2 ** 20 },
} as const;

/** Companion choices and mirrored marks shared by every node (dispatch rule 3 across nodes). */
export const DISPATCH_BUCKET = 'flowbridge_dispatch';

/** A message id is remembered this long: a retry within it is stored once. */
const DUPLICATE_WINDOW_NS = 2 * 60 * 1e9;
const MAX_AGE_NS = 7 * 24 * 3600 * 1e9;

export async function ensureStreams(jsm: JetStreamManager, settings: NatsSettings): Promise<void> {
  for (const s of Object.values(STREAMS)) {
    const config: Partial<StreamConfig> & { name: string } = {
      name: s.name,
      subjects: [...s.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_bytes: s.maxBytes,
      max_age: MAX_AGE_NS,
      duplicate_window: DUPLICATE_WINDOW_NS,
      num_replicas: settings.replicas,
    };
    try {
      await jsm.streams.info(s.name);
    } catch {
      try {
        await jsm.streams.add(config);
      } catch (err) {
        // Another node created it meanwhile: fine when it is there now.
        await jsm.streams.info(s.name).catch(() => { throw err; });
      }
    }
  }
}
