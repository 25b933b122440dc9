// Loaded into the soak's collector only (`node --expose-gc --import` this): on SIGUSR2 a
// full garbage collection, then the main thread's live heap appended as one line to the
// file named by FLOWBRIDGE_SOAK_HEAP_FILE. Resident memory alone cannot tell a leak from
// a heap V8 is still growing (in the first minutes no full collection may have run at
// all); the live heap after a full collection can.
import { appendFileSync } from 'node:fs';

const file = process.env.FLOWBRIDGE_SOAK_HEAP_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
if (file) {
  process.on('SIGUSR2', () => {
    gc?.();
    appendFileSync(file, `${gc ? process.memoryUsage().heapUsed : -1}\n`);
  });
}
