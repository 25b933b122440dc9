// Continuous recording: its settings per packet interface and what it reports.

export interface RecordingSettings {
  /** Where the files go (`<pcap-dir>/<interface id>/`). */
  dir: string;
  /** The store's bound: the oldest files go when it is passed. */
  maxDiskBytes: number;
  /** A file is closed before it passes this size... */
  maxFileBytes: number;
  /** ...or once it spans this long. */
  maxFileSeconds: number;
  /** Bytes kept of each packet (65535: whole packets). */
  snaplen: number;
}

export type RecordingState = 'running' | 'paused' | 'failed' | 'stopped';

export interface RecordingStats {
  enabled: boolean;
  state: RecordingState;
  /** Why it is paused or failed. */
  error?: string;
  /** Epoch ms the recording (re)started. */
  since: number;
  /** Packets and bytes (record headers included) written since then. */
  packets: number;
  bytes: number;
  /** Files in the store (the one being written included) and their bytes on disk, indexes included. */
  files: number;
  diskBytes: number;
  maxDiskBytes: number;
  /** Epoch ms of the oldest and newest packets kept. */
  oldest?: number;
  newest?: number;
  /** Files deleted to stay under maxDiskBytes. */
  deletedFiles: number;
  /** Packets not written, by reason (disk-full, write-error, failed). */
  dropped: Record<string, number>;
  /** Last lines of the recording's log, oldest first. */
  log: string[];
}

/** Extractions since start: streamed ones, and the background jobs now. */
export interface ExtractionStats {
  /** Streamed extractions answered, by outcome (sent, empty, refused). */
  streamed: Record<string, number>;
  /** Bytes of pcap streamed. */
  streamedBytes: number;
  /** Jobs now, by status, and their bounds. */
  jobs: Record<string, number>;
  maxJobs: number;
  maxConcurrentJobs: number;
}
