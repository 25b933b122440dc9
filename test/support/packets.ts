// Kept for tests written before test/support/pcap-writer.ts: the frame builder and
// pcap writer live there now.
export { frame, writePcap, type FrameSpec } from './pcap-writer.ts';
