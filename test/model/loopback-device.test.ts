// Which capture devices are loopback ones: dispatch sends loopback events only there,
// and a capture on one keeps only received packets.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopbackDevice } from '../../src/model/loopback-device.ts';

describe('isLoopbackDevice', () => {
  // A stand-in for /sys/class/net: one device of each type.
  const sys = mkdtempSync(join(tmpdir(), 'sys-class-net-'));
  afterAll(() => rmSync(sys, { recursive: true, force: true }));
  for (const [device, type] of [['lo2', '772\n'], ['eth0', '1\n'], ['veth-a', '1\n']]) {
    mkdirSync(join(sys, device));
    writeFileSync(join(sys, device, 'type'), type);
  }

  it('a device sysfs types as ARPHRD_LOOPBACK (772) is loopback, whatever its name', () => {
    expect(isLoopbackDevice('lo2', sys)).toBe(true);
  });

  it('Ethernet devices are not', () => {
    expect(isLoopbackDevice('eth0', sys)).toBe(false);
    expect(isLoopbackDevice('veth-a', sys)).toBe(false);
  });

  it('`lo` is loopback even where sysfs does not say; an unknown device or a file is not', () => {
    expect(isLoopbackDevice('lo', sys)).toBe(true);
    expect(isLoopbackDevice('wlan9', sys)).toBe(false);
    expect(isLoopbackDevice('/tmp/capture.pcap', sys)).toBe(false);
  });
});
