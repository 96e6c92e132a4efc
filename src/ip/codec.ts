// The one IP address codec: text to the 4 or 16 bytes of an X.509 iPAddress (RFC 5280
// §4.2.1.6) and back. Certificate encoding (pki) and policy matching (policy) both use it, so an
// address can never mean one thing to the policy and another in the certificate it allows.
//
// A leaf: it imports nothing of ours, so pki and policy stay free of each other and of I/O.
//
// The families never mix: "::ffff:10.0.0.1" is the 16-byte IPv4-mapped IPv6 address, not the
// IPv4 address 10.0.0.1, because that is what the bytes in a certificate say.

import { isIPv4, isIPv6 } from 'node:net';

export type IpParse = { readonly ok: true; readonly family: 4 | 6; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: string };

export type IpFormat = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/**
 * Parses dotted-quad IPv4 or any RFC 4291 §2.2 IPv6 text form (compressed, with an embedded
 * IPv4 tail). Zone IDs ("fe80::1%eth0") are refused: a zone names an interface of one machine
 * and has no encoding in a certificate.
 */
export function parseIp(text: string): IpParse {
  if (isIPv4(text)) return { ok: true, family: 4, bytes: Uint8Array.from(text.split('.').map(Number)) };
  if (text.includes('%')) return { ok: false, reason: `${JSON.stringify(text)} carries a zone ID, which has no place in a certificate` };
  if (!isIPv6(text)) return { ok: false, reason: `${JSON.stringify(text)} is not an IPv4 or IPv6 address` };
  // isIPv6 has vouched for the syntax, so what follows only has to place the groups.
  const gap = text.indexOf('::');
  const head = words(gap === -1 ? text : text.slice(0, gap));
  const tail = gap === -1 ? [] : words(text.slice(gap + 2));
  const all = gap === -1 ? head : [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  if (all.length !== 8) return { ok: false, reason: `${JSON.stringify(text)} does not have 8 groups` };
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return { ok: true, family: 6, bytes };
}

/** The 16-bit groups of one side of "::"; a dotted IPv4 tail counts as two groups. */
function words(part: string): number[] {
  if (part === '') return [];
  const out: number[] = [];
  for (const group of part.split(':')) {
    if (group.includes('.')) {
      const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
      out.push((a << 8) | b, (c << 8) | d);
    } else {
      out.push(parseInt(group, 16));
    }
  }
  return out;
}

/** 4 bytes as dotted quad; 16 as lower-case IPv6 with the longest zero run compressed (RFC 5952 §4.2). */
export function formatIp(bytes: Uint8Array): IpFormat {
  if (bytes.length === 4) return { ok: true, text: Array.from(bytes).join('.') };
  if (bytes.length !== 16) return { ok: false, reason: `an IP address is 4 or 16 bytes, not ${bytes.length}` };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return { ok: true, text: compress(groups) };
}

function compress(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    // RFC 5952 §4.2.2: a single zero group is not compressed; §4.2.3: the first longest run wins.
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}
