// Push targets (FMADIO's push_realtime.lua, word for word where it can be): what a
// target is once checked, and what it reports. The checking lives in src/push/target.ts.

/** `--split-time <ns>` (aligned to multiples of it) or `--split-byte <bytes>`. */
export type Split = { kind: 'time'; ns: number } | { kind: 'byte'; bytes: number };

export const FILE_NAME_FORMATS = [
  '--filename-epoch-sec-startend',
  '--filename-epoch-sec',
  '--filename-tstr-HHMM',
  '--filename-tstr-HHMMSS',
  '--filename-tstr-HHMMSS_NS',
] as const;
export type FileNameFormat = (typeof FILE_NAME_FORMATS)[number];

export type PushMode = 'file' | 'rclone';

/** A target as the operator wrote it (Desc, Mode, Path, Split, FileName, FilterBPF, and the interface). */
export interface PushTargetSpec {
  desc: string;
  mode: PushMode;
  /** File mode: a directory and file prefix (`/srv/push/all` → `all_<name>.pcap`), or a directory (`/srv/push/`). Rclone: `remote:dir/prefix`. */
  path: string;
  /** Exactly as written (`--split-time 60e9`). */
  split: string;
  fileName: FileNameFormat;
  /** libpcap syntax, or null for every packet. */
  filterBpf: string | null;
  /** The packet interface (name) whose packets are pushed. */
  interface: string;
  /** Rclone mode: the local spool's bound in bytes (default 1 GiB). */
  spoolBytes?: number;
}

/** What the capture process needs to run a target's sink. */
export interface PushSinkConfig {
  desc: string;
  mode: PushMode;
  split: Split;
  fileName: FileNameFormat;
  filterBpf: string | null;
  /** Where closed splits go: the final directory and prefix (file mode), or the local spool (rclone mode). */
  dir: string;
  prefix: string;
  /** Rclone mode: what the spool may hold before new packets are dropped (counted). */
  spoolBytes: number;
  /** The per-target log file (`<data-dir>/log/push_<desc>_YYYYMMDD_HHMM`). */
  logPath: string;
}

export interface PushTargetStats {
  desc: string;
  state: 'running' | 'stopped' | 'failed';
  error?: string;
  /** Closed splits, and the bytes and packets in them (pushed, for rclone: handed to the spool). */
  files: number;
  bytes: number;
  packets: number;
  /** Packets the target's BPF did not take. */
  filteredOut: number;
  /** The split being written. */
  currentFile?: string;
  /** Packets not written, by reason (spool-full, write-error, ...). */
  dropped: Record<string, number>;
}

/** The rclone side of a target: uploads of closed splits from the spool. */
export interface PushUploadStats {
  uploaded: number;
  uploadedBytes: number;
  /** Splits waiting in the spool, and their bytes. */
  spoolFiles: number;
  spoolBytes: number;
  spoolBound: number;
  retries: number;
  failures: number;
  lastError?: string;
  /** Seconds the oldest waiting split has waited. */
  lagSeconds: number;
}
