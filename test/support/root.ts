// Whether this run is root, and whether it is CI (which runs as root and runs everything).
// Free of vitest imports: the skip report, a reporter, reads it too.
export const isRoot = process.getuid?.() === 0;
/** CI set to anything but '', '0' or 'false'. */
export const inCI = !/^(|0|false)$/i.test(process.env.CI ?? '');
