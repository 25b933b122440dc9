// nDPI serializer TLV, from bytes written out by hand after reference/wire-format.md.
import { describe, expect, it } from 'vitest';
import { decodeTlv, encodeTlv } from '../../src/collector/wire/tlv.ts';
import { allCases } from './expected.ts';

// Type codes of the reference.
const U8 = 2, U16 = 3, U32 = 4, U64 = 5, I8 = 6, I16 = 7, I32 = 8, I64 = 9, FLOAT = 10, STRING = 11;
const BLOCK = 12, END_BLOCK = 13, LIST = 14, END_LIST = 15, END_RECORD = 1;
const item = (keyType: number, valueType: number) => (keyType << 4) | valueType;
/** A string (key or value): u16 big-endian length, then the UTF-8 bytes. */
const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return [b.length >> 8, b.length & 0xff, ...b];
};
const tlv = (...bytes: number[]) => Buffer.from([1, 1, ...bytes]);
const float32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v);
  return [...b];
};

describe('decodeTlv', () => {
  it('reads every key and value type, blocks, lists and several records', () => {
    const buf = tlv(
      item(U8, U8), 8, 200,
      item(U16, U16), 0x01, 0x00, 0xff, 0xff,
      item(U32, U32), 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
      item(STRING, U64), ...str('big'), 0, 0, 1, 0, 0, 0, 0, 0,
      item(STRING, I8), ...str('i8'), 0xff,
      item(STRING, I16), ...str('i16'), 0xff, 0x38,
      item(STRING, I32), ...str('i32'), 0xff, 0xff, 0xff, 0x00,
      item(STRING, I64), ...str('i64'), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
      item(STRING, FLOAT), ...str('latency'), ...float32(0.221),
      item(STRING, STRING), ...str('path'), ...str('/usr/bin/é'),
      item(STRING, BLOCK), ...str('LOCAL_PROCESS'), item(STRING, U16), ...str('PID'), 0x76, 0x1e, END_BLOCK,
      item(STRING, LIST), ...str('list'), U8, 7, STRING, ...str('x'), BLOCK, item(STRING, U8), ...str('n'), 1, END_BLOCK, END_LIST,
      END_RECORD,
      // The last record may omit its end marker.
      item(STRING, U8), ...str('PROTOCOL'), 17,
    );
    expect(decodeTlv(buf)).toEqual([
      {
        '8': 200, '256': 65535, '65536': 4294967295, big: 2 ** 40, i8: -1, i16: -200, i32: -256, i64: -2, latency: 0.221,
        path: '/usr/bin/é', LOCAL_PROCESS: { PID: 30238 }, list: [7, 'x', { n: 1 }],
      },
      { PROTOCOL: 17 },
    ]);
  });

  it('reads an empty buffer body as no records', () => {
    expect(decodeTlv(tlv())).toEqual([]);
    expect(decodeTlv(tlv(END_RECORD))).toEqual([{}]);
  });

  it('refuses what is not an nDPI TLV buffer', () => {
    for (const b of [[], [1], [0, 1], [2, 1], [1, 0], [1, 2], [0x7b, 0x22]]) {
      expect(() => decodeTlv(Buffer.from(b)), JSON.stringify(b)).toThrow(/not an nDPI TLV buffer/);
    }
  });

  it('refuses truncated items, saying where', () => {
    for (const b of [
      tlv(item(U16, U8), 0x01),
      tlv(item(U32, U8), 0, 0, 0),
      tlv(item(STRING, U8), 0),
      tlv(item(STRING, U8), 0, 5, 0x61),
      tlv(item(U8, U8), 1),
      tlv(item(U8, U32), 1, 0, 0, 0),
      tlv(item(U8, U64), 1, 0, 0, 0, 0, 0, 0, 0),
      tlv(item(U8, I16), 1, 0),
      tlv(item(U8, FLOAT), 1, 0, 0),
      tlv(item(U8, STRING), 1, 0, 9, 0x61, 0x62),
    ]) {
      expect(() => decodeTlv(b), b.toString('hex')).toThrow(/truncated at byte \d+/);
    }
  });

  it('refuses key types other than u8, u16, u32 and string', () => {
    for (const keyType of [0, 1, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15]) {
      expect(() => decodeTlv(tlv(item(keyType, U8), 0, 0, 0, 0, 0, 0, 0, 0)), `key type ${keyType}`).toThrow(new RegExp(`key type ${keyType}`));
    }
  });

  it('refuses unknown value types and stray end markers', () => {
    expect(() => decodeTlv(tlv(item(U8, 0), 1))).toThrow(/value type 0/);
    expect(() => decodeTlv(tlv(item(U8, END_RECORD), 1))).toThrow(/value type 1/);
    expect(() => decodeTlv(tlv(item(U8, END_BLOCK), 1))).toThrow(/value type 13/);
    expect(() => decodeTlv(tlv(END_BLOCK))).toThrow(/unexpected end marker/);
    expect(() => decodeTlv(tlv(END_LIST))).toThrow(/unexpected end marker/);
    expect(() => decodeTlv(tlv(item(STRING, BLOCK), ...str('b'), END_LIST))).toThrow(/unexpected end marker/);
    expect(() => decodeTlv(tlv(item(STRING, LIST), ...str('l'), END_BLOCK))).toThrow(/unexpected end marker/);
  });

  it('refuses unterminated blocks and lists', () => {
    expect(() => decodeTlv(tlv(item(STRING, BLOCK), ...str('b'), item(STRING, U8), ...str('k'), 1))).toThrow(/missing end of block/);
    expect(() => decodeTlv(tlv(item(STRING, BLOCK), ...str('b')))).toThrow(/missing end of block/);
    expect(() => decodeTlv(tlv(item(STRING, LIST), ...str('l'), U8, 1, U8, 2))).toThrow(/missing end of list/);
    expect(() => decodeTlv(tlv(item(STRING, LIST), ...str('l'), BLOCK, END_LIST))).toThrow(/missing end of block|unexpected end marker/);
  });

  it('refuses nesting deeper than 16 levels, and reads 16', () => {
    const nested = (n: number) => tlv(...Array.from({ length: n }, () => [item(STRING, BLOCK), ...str('k')]).flat(), ...Array<number>(n).fill(END_BLOCK));
    let expected: unknown = {};
    for (let i = 0; i < 16; i++) expected = { k: expected };
    expect(decodeTlv(nested(16))).toEqual([expected]);
    expect(() => decodeTlv(nested(17))).toThrow(/nesting deeper than 16/);
    expect(() => decodeTlv(nested(5000))).toThrow(/nesting deeper than 16/);
  });
});

describe('encodeTlv (the test producers\' encoder)', () => {
  it('writes what a hand-built buffer says', () => {
    expect(encodeTlv([{ '8': 200, PATH: '/x', P: { PID: 1 }, L: [1, 'a'] }, { N: -5 }])).toEqual(tlv(
      item(U8, U8), 8, 200,
      item(STRING, STRING), ...str('PATH'), ...str('/x'),
      item(STRING, BLOCK), ...str('P'), item(STRING, U8), ...str('PID'), 1, END_BLOCK,
      item(STRING, LIST), ...str('L'), U8, 1, STRING, ...str('a'), END_LIST,
      END_RECORD,
      item(STRING, I32), ...str('N'), 0xff, 0xff, 0xff, 0xfb,
      END_RECORD,
    ));
  });

  it('round-trips every fixture and variant record (floats within float32 precision as producers write them)', () => {
    const cases = allCases();
    expect(decodeTlv(encodeTlv(cases.map((c) => c.record)))).toEqual(cases.map((c) => c.record));
  });
});
