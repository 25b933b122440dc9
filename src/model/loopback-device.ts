// Is a capture device a loopback one? Every packet on it is both sent and received
// (so a capture keeps only one copy), and a loopback address can travel no other wire
// (so dispatch routes loopback events to it alone). `lo`, or any device Linux types as
// ARPHRD_LOOPBACK in sysfs.
import { readFileSync } from 'node:fs';

/** ARPHRD_LOOPBACK, as /sys/class/net/<device>/type shows it. */
const ARPHRD_LOOPBACK = '772';

/** True for `lo` and for any device whose sysfs type is loopback; false for what sysfs does not know (files, gone devices). */
export function isLoopbackDevice(device: string, sysClassNet = '/sys/class/net'): boolean {
  if (device === 'lo') return true;
  try {
    return readFileSync(`${sysClassNet}/${device}/type`, 'utf8').trim() === ARPHRD_LOOPBACK;
  } catch {
    return false;
  }
}
