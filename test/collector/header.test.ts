// The header frame, built byte by byte from the table in reference/wire-format.md
// (not with encodeHeader, so a mistake shared by both sides cannot hide), then the
// encoder the test producers use, checked against the same bytes.
import { describe, expect, it } from 'vitest';
import { encodeHeader, parseHeader, type HeaderVersion } from '../../src/collector/wire/header.ts';

/** A zeroed frame of `length` bytes with `topic` at offset 0 and the given writes. */
function frame(length: number, topic: string, write: (b: Buffer) => void = () => {}): Buffer {
  const b = Buffer.alloc(length);
  b.write(topic, 0, 'latin1');
  write(b);
  return b;
}

describe('parseHeader: the four layouts', () => {
  it('v0, 40 bytes: topic[32], version u32 and size u32 in host order; no msg_id or source_id', () => {
    const h = frame(40, 'flow', (b) => {
      b.writeUInt32LE(0, 32);
      b.writeUInt32LE(1234, 36);
    });
    expect(parseHeader(h)).toEqual({ layout: 0, version: 0, topic: 'flow', tlv: false, compressed: 'maybe' });
    // The topic may use all 32 bytes, with no NUL.
    expect(parseHeader(frame(40, 'x'.repeat(32)))).toMatchObject({ topic: 'x'.repeat(32) });
    expect(parseHeader(frame(40, 'listening-ports'))).toMatchObject({ topic: 'listening-ports' });
  });

  it('v1, 24 bytes: version u8 @16, source_id u8 @17, size u16 @18, msg_id u32 @20 big-endian', () => {
    const h = frame(24, 'flow', (b) => {
      b[16] = 2;
      b[17] = 200;
      b.writeUInt16LE(999, 18);
      b.writeUInt32BE(0x01020304, 20);
    });
    expect(parseHeader(h)).toEqual({ layout: 1, version: 2, topic: 'flow', msgId: 0x01020304, sourceId: 200, tlv: false, compressed: 'maybe' });
  });

  it('v1 with version byte 1 stores msg_id in host (little-endian) order', () => {
    const h = frame(24, 'counter', (b) => {
      b[16] = 1;
      b[17] = 3;
      b.writeUInt32LE(0x01020304, 20);
    });
    expect(parseHeader(h)).toMatchObject({ layout: 1, version: 1, topic: 'counter', msgId: 0x01020304, sourceId: 3 });
  });

  it('v2, 28 bytes: version u8 @16, size u16 @18, msg_id u32 @20 big-endian, source_id u32 @24 host order', () => {
    const h = frame(28, 'listening-ports', (b) => {
      b[16] = 2;
      b.writeUInt16LE(0xffff, 18);
      b.writeUInt32BE(0xfffffffe, 20);
      b.writeUInt32LE(0x0a0b0c0d, 24);
    });
    expect(parseHeader(h)).toEqual({ layout: 2, version: 2, topic: 'listening-ports', msgId: 0xfffffffe, sourceId: 0x0a0b0c0d, tlv: false, compressed: 'maybe' });
  });

  it('version byte 3 in layouts 1 and 2 means a TLV payload', () => {
    expect(parseHeader(frame(24, 'flow', (b) => (b[16] = 3)))).toMatchObject({ tlv: true, compressed: 'maybe' });
    expect(parseHeader(frame(28, 'flow', (b) => (b[16] = 3)))).toMatchObject({ tlv: true, compressed: 'maybe' });
  });

  it('v3, 36 bytes carrying version 4: flags @17, sizes @20/@24, msg_id @28 big-endian, source_id @32 host order', () => {
    const h = (flags: number) => frame(36, 'flow', (b) => {
      b[16] = 4;
      b[17] = flags;
      b.writeUInt32LE(1, 20); // uncompressed size: a hint
      b.writeUInt32LE(0xffffffff, 24); // compressed size: a hint
      b.writeUInt32BE(0x80000001, 28);
      b.writeUInt32LE(77, 32);
    });
    expect(parseHeader(h(0))).toEqual({ layout: 3, version: 4, topic: 'flow', msgId: 0x80000001, sourceId: 77, tlv: false, compressed: false });
    expect(parseHeader(h(0x02))).toMatchObject({ tlv: true, compressed: false });
    expect(parseHeader(h(0x04))).toMatchObject({ tlv: false, compressed: true });
    expect(parseHeader(h(0x06))).toMatchObject({ tlv: true, compressed: true });
    // Other flag bits mean nothing to us.
    expect(parseHeader(h(0xf9))).toMatchObject({ tlv: false, compressed: false });
  });

  it('a topic fills at most the 16 bytes of layouts 1-3', () => {
    expect(parseHeader(frame(36, 'snmp-ifaces-abcdXYZ'.slice(0, 16), (b) => (b[16] = 4)))).toMatchObject({ topic: 'snmp-ifaces-abcd' });
  });
});

describe('parseHeader: what it refuses', () => {
  it('any other frame length, naming it', () => {
    for (const n of [0, 1, 4, 16, 23, 25, 27, 29, 32, 35, 37, 39, 41, 64, 1000]) {
      expect(parseHeader(Buffer.alloc(n)), `${n} bytes`).toEqual({ error: 'header-length', detail: expect.stringContaining(`${n} bytes`) });
    }
  });

  it('a version byte over 4 at offset 16 of a 24, 28 or 36-byte header', () => {
    for (const length of [24, 28, 36]) {
      for (const version of [5, 6, 0x7f, 0x80, 0xff]) {
        expect(parseHeader(frame(length, 'flow', (b) => (b[16] = version))), `${length} bytes, version ${version}`).toEqual({
          error: 'header-version', detail: expect.stringContaining(String(version)),
        });
      }
    }
  });

  it('a 36-byte header that does not carry version 4', () => {
    for (const version of [0, 1, 2, 3]) {
      expect(parseHeader(frame(36, 'flow', (b) => (b[16] = version)))).toMatchObject({ error: 'header-version' });
    }
  });
});

describe('encodeHeader (the producer side of tests, demo and benchmarks)', () => {
  it('writes the bytes of the reference table', () => {
    const v0 = encodeHeader({ layout: 0, topic: 'flow', size: 1234 });
    expect(v0).toEqual(frame(40, 'flow', (b) => b.writeUInt32LE(1234, 36)));
    const v1 = encodeHeader({ layout: 1, topic: 'flow', size: 999, msgId: 0x01020304, sourceId: 200 });
    expect(v1).toEqual(frame(24, 'flow', (b) => { b[16] = 2; b[17] = 200; b.writeUInt16LE(999, 18); b.writeUInt32BE(0x01020304, 20); }));
    const v1le = encodeHeader({ layout: 1, topic: 'flow', msgId: 0x01020304, version: 1 });
    expect(v1le).toEqual(frame(24, 'flow', (b) => { b[16] = 1; b.writeUInt32LE(0x01020304, 20); }));
    const v2 = encodeHeader({ layout: 2, topic: 'counter', size: 10, msgId: 7, sourceId: 0x0a0b0c0d, version: 3 });
    expect(v2).toEqual(frame(28, 'counter', (b) => { b[16] = 3; b.writeUInt16LE(10, 18); b.writeUInt32BE(7, 20); b.writeUInt32LE(0x0a0b0c0d, 24); }));
    const v3 = encodeHeader({ layout: 3, topic: 'flow', size: 50, uncompressedSize: 200, msgId: 9, sourceId: 8, tlv: true, compressed: true });
    expect(v3).toEqual(frame(36, 'flow', (b) => {
      b[16] = 4; b[17] = 0x06; b.writeUInt32LE(200, 20); b.writeUInt32LE(50, 24); b.writeUInt32BE(9, 28); b.writeUInt32LE(8, 32);
    }));
  });

  it('round-trips through parseHeader in every layout', () => {
    for (const layout of [0, 1, 2, 3] as HeaderVersion[]) {
      for (const topic of ['flow', 'counter', 'listening-ports', 'template']) {
        const h = parseHeader(encodeHeader({ layout, topic, msgId: 0xdeadbeef, sourceId: 0xab, tlv: true, compressed: true }));
        expect(h, `v${layout} ${topic}`).toMatchObject({ layout, topic });
        if (layout !== 0) expect(h).toMatchObject({ msgId: 0xdeadbeef, sourceId: 0xab });
      }
    }
  });
});
