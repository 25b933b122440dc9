// The page tests' common ground: the collector with a ZMQ interface and a replayed
// span capture (a SYN and its RST between 10.0.0.5 and 10.0.0.99), a producer
// connected to it, and a headless Chromium page; all taken down after the file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './chromium.ts';
import { connectProducer, startWithFlags } from './flowbridge.ts';
import { frame, writePcap } from './pcap-writer.ts';
import type { Producer } from './producer.ts';

export interface BrowserRig {
  /** The collector-mode endpoint (`tcp://127.0.0.1:<port>c`). */
  zmq: string;
  /** A temporary directory of the test's own (screenshots go there). */
  dir: string;
  pcapFile: string;
  fb: Awaited<ReturnType<typeof startWithFlags>>;
  producer: Producer;
  page: Page;
}

export function browserRig(zmqPort: number, viewport: { width: number; height: number }): BrowserRig {
  const dir = mkdtempSync(join(tmpdir(), 'fb-browser-'));
  const rig = { zmq: `tcp://127.0.0.1:${zmqPort}c`, dir, pcapFile: join(dir, 'span.pcap') } as BrowserRig;
  let browser: Browser | undefined;
  beforeAll(async () => {
    writePcap(rig.pcapFile, [
      frame({ src: '10.0.0.5', dst: '10.0.0.99', protocol: 'tcp', sport: 40100, dport: 8080, flags: 'S' }),
      frame({ src: '10.0.0.99', dst: '10.0.0.5', protocol: 'tcp', sport: 8080, dport: 40100, flags: 'R' }),
    ]);
    rig.fb = await startWithFlags(['-i', rig.zmq, '-i', `pcap:${rig.pcapFile}`]);
    rig.producer = await connectProducer(rig.fb, `tcp://127.0.0.1:${zmqPort}`);
    browser = await launchChromium();
    rig.page = await browser.newPage({ viewport });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rig.producer?.close();
    await rig.fb?.stop();
  });
  return rig;
}
