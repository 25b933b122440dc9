import { describe, expect, it } from 'vitest';
import { canonicalIp, ipv4FromU32, isLoopback } from '../../src/model/address.ts';

describe('canonicalIp', () => {
  it('compresses IPv6 to one canonical form', () => {
    expect(canonicalIp('fd00:10:244:0:0:0:0:7')).toBe('fd00:10:244::7');
    expect(canonicalIp('FD00:0010:0244::0007')).toBe('fd00:10:244::7');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
  });
  it('keeps IPv4-mapped addresses dotted', () => {
    expect(canonicalIp('::FFFF:7f00:1')).toBe('::ffff:127.0.0.1');
    expect(canonicalIp('0:0:0:0:0:ffff:10.1.1.1')).toBe('::ffff:10.1.1.1');
  });
  it('rejects what is not an address', () => {
    expect(canonicalIp('10.1.1')).toBeUndefined();
    expect(canonicalIp('hello')).toBeUndefined();
    expect(canonicalIp('1::2::3')).toBeUndefined();
  });
});

describe('isLoopback', () => {
  it('covers all of 127.0.0.0/8, ::1 and IPv4-mapped loopback', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '::ffff:127.0.0.53']) {
      expect(isLoopback(canonicalIp(ip)!)).toBe(true);
    }
    for (const ip of ['128.0.0.1', '10.127.0.1', '::2', '::ffff:10.0.0.1', 'fe80::1']) {
      expect(isLoopback(canonicalIp(ip)!)).toBe(false);
    }
  });
});

describe('ipv4FromU32', () => {
  it('renders deviceIP numbers as producers mean them', () => {
    expect(ipv4FromU32(3232236163)).toBe('192.168.2.131');
  });
});
