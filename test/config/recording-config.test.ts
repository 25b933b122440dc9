// Recording settings from the command line, the config file and the API share one
// checker: sizes as people write them, a required bound, and refusals that name what
// is accepted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli.ts';
import { ConfigError, readConfigFile, resolveConfig } from '../../src/config.ts';
import { parseByteSize } from '../../src/model/byte-size.ts';
import { recordingRequest, RecordingSettingsError } from '../../src/recording/settings.ts';

const configFrom = (argv: string[], file = {}) => resolveConfig(file, parseCli(argv, {}).flags);

describe('sizes', () => {
  it('reads decimal and binary units and plain bytes', () => {
    expect(parseByteSize('500MB')).toBe(500_000_000);
    expect(parseByteSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('1.5 gb')).toBe(1_500_000_000);
    expect(parseByteSize('4096')).toBe(4096);
    expect(parseByteSize(4096)).toBe(4096);
    for (const bad of ['', 'MB', '-5MB', '5 parsecs', '1e9', '0x10']) expect(parseByteSize(bad)).toBeUndefined();
  });
});

describe('--record and --pcap-dir', () => {
  it('records an interface with the defaults of a whole-packet, 256 MiB / 60 s file ring', () => {
    const c = configFrom(['-i', 'lo', '--record', 'lo=500MB', '--data-dir', '/tmp/fbdata']);
    expect(c.recording).toEqual({ lo: { enabled: true, maxDiskBytes: 500_000_000, maxFileBytes: 256 * 1024 * 1024, maxFileSeconds: 60, snaplen: 65535 } });
    expect(c.pcapDir).toBe('/tmp/fbdata/pcap');
    expect(configFrom(['-i', 'lo', '--pcap-dir', '/srv/pcap']).pcapDir).toBe('/srv/pcap');
  });

  it('refuses sizes, interfaces and settings it cannot use, saying what is accepted', () => {
    expect(() => configFrom(['-i', 'lo', '--record', 'lo=lots'])).toThrow(/maxDiskSpace "lots" is not a size: give a number of bytes, or a number with a unit/);
    expect(() => configFrom(['-i', 'lo', '--record', 'lo=10KB'])).toThrow(/too small: at least 1048576 bytes/);
    expect(() => configFrom(['-i', 'lo', '--record', 'eth9=1GB'])).toThrow(/recording for eth9: not a packet interface of this collector \(lo\)/);
    expect(() => configFrom(['-i', 'tcp://*:5556c', '-i', 'lo', '--record', 'tcp://*:5556c=1GB'])).toThrow(ConfigError);
    expect(() => configFrom(['-i', 'lo', '--record', 'lo'])).toThrow(/expected <name>=<value>, as in --record eth1=500MB/);
  });

  it('takes the file\'s settings, the flag\'s bound on top', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-cfg-'));
    const path = join(dir, 'c.json');
    writeFileSync(path, JSON.stringify({ interfaces: ['lo'], recording: { lo: { maxDiskSpace: '1GiB', maxFileSeconds: 30, snaplen: 128 } } }));
    const file = readConfigFile(path);
    expect(resolveConfig(file, {}).recording.lo).toMatchObject({ maxDiskBytes: 1024 ** 3, maxFileSeconds: 30, snaplen: 128 });
    expect(resolveConfig(file, parseCli(['--record', 'lo=2GB'], {}).flags).recording.lo).toMatchObject({ maxDiskBytes: 2e9, maxFileSeconds: 30, snaplen: 128 });
    writeFileSync(path, JSON.stringify({ recording: { lo: { maxFileSeconds: 30 } } }));
    expect(() => readConfigFile(path)).toThrow(/must have required property 'maxDiskSpace'/);
  });
});

describe('changing settings', () => {
  it('applies a change on top of the current settings and needs a bound the first time', () => {
    const current = recordingRequest({ maxDiskSpace: '1GB' });
    expect(recordingRequest({ enabled: false }, current)).toMatchObject({ enabled: false, maxDiskBytes: 1e9 });
    expect(recordingRequest({ maxFileSize: '10MiB', maxFileSeconds: 5 }, current)).toMatchObject({ maxFileBytes: 10 * 1024 ** 2, maxFileSeconds: 5, maxDiskBytes: 1e9 });
    expect(() => recordingRequest({ enabled: true })).toThrow(/maxDiskSpace is required/);
    expect(() => recordingRequest({ maxDiskSpace: '1GB', colour: 'blue' } as never)).toThrow(/unknown recording setting colour: accepted are enabled, maxDiskSpace/);
    expect(() => recordingRequest({ maxDiskSpace: '1GB', snaplen: 10 })).toThrow(RecordingSettingsError);
    expect(() => recordingRequest({ maxDiskSpace: '1GB', maxFileSeconds: 1.5 })).toThrow(/expected a whole number from 1 to 86400/);
  });
});

describe('--community-id-seed', () => {
  it('takes a seed from 0 to 65535, 0 by default', () => {
    expect(configFrom([]).communityIdSeed).toBe(0);
    expect(configFrom(['--community-id-seed', '1']).communityIdSeed).toBe(1);
    expect(() => configFrom(['--community-id-seed', '70000'])).toThrow(/--community-id-seed "70000": expected a whole number from 0 to 65535/);
  });
});
