// The capture baseline: a bare `cap` loop that only counts packets, as the best a
// JavaScript per-packet callback can do on this machine.
//   tsx bench/bare-cap.ts DEVICE FILTER   (prints "captured N" on SIGTERM)
import cap from 'cap';

const [device, filter] = process.argv.slice(2);
const c = new cap.Cap();
// cap writes every packet into this Buffer: the packet handler keeps it referenced,
// or the garbage collector frees it under cap's feet (heap corruption).
const buffer = Buffer.alloc(65_535);
c.open(device, filter, 16 * 1024 * 1024, buffer);
let n = 0;
c.on('packet', () => {
  n++;
  if (buffer.length === 0) throw new Error('unreachable');
});
process.send?.('ready');
process.on('SIGTERM', () => {
  c.close();
  process.stdout.write(`captured ${n}\n`, () => process.exit(0));
});
