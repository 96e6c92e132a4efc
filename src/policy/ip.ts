// IP addresses and CIDR ranges for `grant.ipAddresses`.
//
// Not net.BlockList: it matches an IPv4 address against IPv6 ranges through the IPv4-mapped form,
// so a grant of "::/0" would quietly allow every IPv4 address too. Here the families never mix:
// a v4 range allows only v4 addresses, and "::ffff:10.0.0.1" is an IPv6 address.

import { parseIp as decodeIp } from '../ip/codec.js';
import type { IpRange } from './types.js';

export type IpBytes = readonly number[];

/** Parses an IP address into 4 or 16 bytes (the shared codec's); null when it is not one (zone IDs included). */
export function parseIp(s: string): IpBytes | null {
  const parsed = decodeIp(s);
  return parsed.ok ? Array.from(parsed.bytes) : null;
}

export type RangeResult = { readonly ok: true; readonly range: IpRange } | { readonly ok: false; readonly reason: string };

/**
 * Parses "10.0.0.0/8" or "fd00::/8"; a bare address means just that address. Host bits must be
 * zero: "10.1.2.3/8" usually means the writer had a different range in mind than the one it names.
 */
export function parseCidr(source: string): RangeResult {
  const slash = source.indexOf('/');
  const addr = slash === -1 ? source : source.slice(0, slash);
  const bytes = parseIp(addr);
  if (bytes === null) return { ok: false, reason: `${JSON.stringify(addr)} is not an IPv4 or IPv6 address` };
  const bits = bytes.length * 8;
  let prefixLength = bits;
  if (slash !== -1) {
    const len = source.slice(slash + 1);
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(len) || Number(len) > bits) {
      return { ok: false, reason: `prefix length ${JSON.stringify(len)} must be a whole number from 0 to ${bits}` };
    }
    prefixLength = Number(len);
  }
  for (let bit = prefixLength; bit < bits; bit++) {
    if ((bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) {
      return { ok: false, reason: `${source} has host bits set; the network is ${networkOf(bytes, prefixLength)}/${prefixLength}` };
    }
  }
  const range: IpRange = {
    source,
    family: bytes.length === 4 ? 4 : 6,
    bytes: Object.freeze([...bytes]),
    prefixLength,
  };
  return { ok: true, range: Object.freeze(range) };
}

export function rangeContains(range: IpRange, address: IpBytes): boolean {
  if (address.length !== range.bytes.length) return false;
  const whole = range.prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== range.bytes[i]) return false;
  const rest = range.prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[whole]! & mask) === range.bytes[whole];
}

function networkOf(bytes: IpBytes, prefixLength: number): string {
  const net = bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  if (net.length === 4) return net.join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((net[i]! << 8) | net[i + 1]!).toString(16));
  // Good enough for a hint in a message: uncompressed but unambiguous.
  return words.join(':');
}
