// On-demand capture (seed 003, Trustgrid's Traffic Capture): a person starts a capture
// on a packet interface with a libpcap filter and a size, leaves it running, stops it
// and takes the pcap pieces. These are the values the API, the capture process and
// the store of captures hand each other.

/** What a person asks for when starting a capture. */
export interface OnDemandRequest {
  /** libpcap filter ('' keeps every packet). */
  filter: string;
  /** The most the pieces take together, in MB of 1,000,000 bytes (1–1000). */
  maxCaptureMB: number;
  /** Clear the captures directory before starting. */
  deleteFilesOnStart: boolean;
}

/** The sink the capture process runs for a started capture. */
export interface OnDemandSinkConfig {
  /** Names one run: the sink's reports say which run they are about. */
  runId: string;
  /** Where the pieces are written while the capture runs (<data-dir>/captures/.running/<iface>). */
  dir: string;
  /** Pieces are `<baseName>.pcap0`, `.pcap1`, ... (capture-YYYY-MM-DD_HH-MM-SS). */
  baseName: string;
  filter: string;
  /** A piece is closed before it would pass this size. */
  pieceBytes: number;
  /** The pieces take at most maxPieces × pieceBytes (the one being written included); older ones are deleted. */
  maxPieces: number;
}

export interface OnDemandPiece {
  name: string;
  bytes: number;
}

/** What the sink reports from the capture process. */
export interface OnDemandSinkStats {
  runId: string;
  /** 'closed': the sink is done and every piece it kept is complete under its final name. */
  state: 'running' | 'closed' | 'failed';
  error?: string;
  /** Completed pieces still kept, oldest first. */
  pieces: OnDemandPiece[];
  /** The piece being written (its temporary name's final name and bytes so far). */
  current?: OnDemandPiece;
  /** Packets written (kept or since overwritten). */
  packets: number;
  /** Packets the filter left out. */
  filteredOut: number;
  /** Pieces deleted to stay within maxCaptureMB. */
  overwritten: number;
  /** Packets not written, by reason. */
  dropped: Record<string, number>;
}

/** GET /api/v1/interfaces/:id/capture. */
export interface OnDemandStatus extends OnDemandRequest {
  interface: string;
  status: 'Stopped' | 'Running';
  startedBy: string | null;
  startedAt: string | null;
  stoppedAt: string | null;
  /** Bytes of the pieces kept (the piece being written included). */
  bytes: number;
  /** The pieces of this run (the last run when stopped), oldest first. */
  files: string[];
  packets: number;
  filteredOut: number;
  overwritten: number;
  dropped: Record<string, number>;
  error?: string;
}

/** One file of GET /api/v1/captures. */
export interface CaptureFile {
  name: string;
  bytes: number;
  interface: string | null;
  startedBy: string | null;
  createdAt: string;
}
