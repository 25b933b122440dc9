// A FMADIO user's push_realtime.lua targets, taken word for word: the five file name
// formats on the seed's own instants, the split syntax with scientific notation, the
// path's prefix, and refusals that name the target and what is accepted.
import { describe, expect, it } from 'vitest';
import { parseSplit, pathParts, pushTargetSpec, splitFileName } from '../../src/push/target.ts';

const ns = (sec: number, frac = 0) => BigInt(sec) * 1_000_000_000n + BigInt(frac);

describe('file names', () => {
  it('are those of the seed\'s table, in UTC', () => {
    // March 21, 2021 1:50:55 (a 100-s split, as the seed's example)
    expect(splitFileName('--filename-epoch-sec-startend', ns(1616334655), ns(1616334755))).toBe('1616334655-1616334755.pcap');
    expect(splitFileName('--filename-epoch-sec', ns(1616334655), ns(1616334755))).toBe('1616334655.pcap');
    // 2021 Dec 1st 23:50:59.123456789
    const dec1 = ns(Date.UTC(2021, 11, 1, 23, 50, 59) / 1000, 123_456_789);
    expect(splitFileName('--filename-tstr-HHMM', dec1, dec1)).toBe('20211201_2350.pcap');
    expect(splitFileName('--filename-tstr-HHMMSS', dec1, dec1)).toBe('20211201_235059.pcap');
    expect(splitFileName('--filename-tstr-HHMMSS_NS', dec1, dec1)).toBe('20211201_235059.123.456.789.pcap');
    // The seed's log: a 60-s split aligned to the minute.
    expect(splitFileName('--filename-epoch-sec-startend', ns(1621849860), ns(1621849920))).toBe('1621849860-1621849920.pcap');
  });
});

describe('splits', () => {
  it('reads time in nanoseconds and bytes, scientific notation accepted', () => {
    expect(parseSplit('--split-time 60e9')).toEqual({ kind: 'time', ns: 60e9 });
    expect(parseSplit('--split-time 2e9')).toEqual({ kind: 'time', ns: 2e9 });
    expect(parseSplit('--split-byte 1e9')).toEqual({ kind: 'byte', bytes: 1e9 });
    expect(parseSplit('--split-byte 1048576')).toEqual({ kind: 'byte', bytes: 1048576 });
    expect(parseSplit('  --split-time 1.5e9 ')).toEqual({ kind: 'time', ns: 1.5e9 });
  });

  it('refuses what it cannot split by, saying what is accepted', () => {
    expect(() => parseSplit('--split-time 0')).toThrow(/at least 1/);
    expect(() => parseSplit('--split-time 1e3')).toThrow(/under 1 ms/);
    expect(() => parseSplit('--split-byte 100')).toThrow(/under 4096 bytes/);
    expect(() => parseSplit('--split-size 1e9')).toThrow(/is not "--split-time <nanoseconds>" or "--split-byte <bytes>"/);
    expect(() => parseSplit('--split-time sixty')).toThrow(/scientific notation accepted/);
    expect(() => parseSplit('--split-time 1.5')).toThrow(/whole number/);
  });
});

describe('targets', () => {
  const seed = { desc: 'pcap-tcp', mode: 'File', path: '/mnt/remote0/push/tcp', split: '--split-time 60e9', fileName: '--filename-epoch-sec-startend', filterBpf: 'net 192.168.1.0/24 and tcp', interface: 'eth1' };

  it('take the seed\'s fields (mode in any case), a prefix or a plain directory', () => {
    expect(pushTargetSpec(seed)).toEqual({ ...seed, mode: 'file' });
    expect(pushTargetSpec({ ...seed, mode: 'FILE', filterBpf: null })).toMatchObject({ mode: 'file', filterBpf: null });
    expect(pathParts('/mnt/remote0/push/all')).toEqual({ dir: '/mnt/remote0/push/', prefix: 'all_' });
    expect(pathParts('/mnt/remote0/push/')).toEqual({ dir: '/mnt/remote0/push/', prefix: '' });
    expect(pathParts('gdrive:pcap/all')).toEqual({ dir: 'gdrive:pcap/', prefix: 'all_' });
    expect(pathParts('s3:')).toEqual({ dir: 's3:', prefix: '' });
    expect(pushTargetSpec({ ...seed, mode: 'RCLONE', path: 'gdrive:pcap/all', spoolSize: '2GiB' })).toMatchObject({ mode: 'rclone', spoolBytes: 2 * 1024 ** 3 });
  });

  it('refuse what they cannot run, naming the target', () => {
    const bad: [object, RegExp][] = [
      [{ ...seed, desc: 'no spaces' }, /desc "no spaces": 1 to 64 letters/],
      [{ ...seed, mode: 'ftp' }, /push target pcap-tcp: mode "ftp" is not FILE or RCLONE/],
      [{ ...seed, path: 'relative/dir' }, /must be absolute in FILE mode/],
      [{ ...seed, mode: 'rclone', path: '/local' }, /must name an rclone remote/],
      [{ ...seed, split: '--split-time 0' }, /push target pcap-tcp: split "--split-time 0"/],
      [{ ...seed, fileName: '--filename-iso' }, /fileName "--filename-iso" is not one of --filename-epoch-sec-startend/],
      [{ ...seed, interface: undefined }, /interface is required/],
      [{ ...seed, Desc: 'x' }, /unknown field Desc/],
      [{ ...seed, spoolSize: '1GB' }, /spoolSize is for RCLONE mode only/],
    ];
    for (const [input, message] of bad) expect(() => pushTargetSpec(input), JSON.stringify(input)).toThrow(message);
  });
});
