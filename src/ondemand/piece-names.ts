// The names of on-demand capture pieces: `capture-YYYY-MM-DD_HH-MM-SS.pcapN` (UTC, the
// capture's start), written as `.<name>.part` until complete. A name that matches is
// the only kind of file the captures routes serve or delete (no path ever reaches
// the file system from a request otherwise).

/** A completed piece (a second run started in the same second gets `_2`, `_3`, ...). */
export const PIECE_NAME = /^capture-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(_\d+)?\.pcap\d+$/;
const PART_NAME = /^\.(capture-\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(?:_\d+)?\.pcap\d+)\.part$/;

export const partName = (name: string) => `.${name}.part`;

/** The final name of a temporary piece, or undefined for another file. */
export const completedName = (file: string): string | undefined => PART_NAME.exec(file)?.[1];

/** `capture-YYYY-MM-DD_HH-MM-SS` of `ms` (UTC). */
export function baseName(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `capture-${iso.slice(0, 10)}_${iso.slice(11, 19).replace(/:/g, '-')}`;
}

/** The run a piece belongs to (its name without `.pcapN`). */
export const runOf = (name: string) => name.replace(/\.pcap\d+$/, '');

/** The piece number N of `.pcapN`. */
export const pieceNumber = (name: string) => Number(/\.pcap(\d+)$/.exec(name)?.[1] ?? 0);
