// The capture baseline: a bare `cap` loop that only counts packets, the best a
// JavaScript per-packet callback through `cap` does on this machine.
//   tsx bench/bare-cap.ts DEVICE FILTER BUFFER_BYTES
// Sends 'ready' over IPC once capturing; on SIGTERM prints one JSON line
// {"captured":N} and exits.
import cap from 'cap';

const [device, filter, bufferBytes] = process.argv.slice(2);
const c = new cap.Cap();
// cap copies every packet into this Buffer: it must stay referenced for the life of the
// capture, or the garbage collector frees it under cap's feet (heap corruption).
const packetBuffer = Buffer.alloc(65_535);
c.open(device, filter, Number(bufferBytes), packetBuffer);
let captured = 0;
c.on('packet', () => {
  captured++;
});
process.send?.('ready');
process.on('SIGTERM', () => {
  c.close();
  process.stdout.write(`${JSON.stringify({ captured, buffer: packetBuffer.length })}\n`, () => process.exit(0));
});
