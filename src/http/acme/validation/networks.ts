// Where validation may connect. A name being validated is chosen by the client, and so is every
// address it resolves to and every redirect it leads to: without this check, a client could make
// the CA open connections into its own network (cloud metadata, admin ports on loopback) and read
// the outcome back from the challenge error.
//
// Precedence, first match decides:
//   1. the built-in denials (link-local, cloud metadata, multicast, unspecified) and
//      `deniedNetworks`: refused, even when `allowedNetworks` also names the address (deny wins);
//   2. `allowedNetworks`, when it is set: allowed if it names the address, else refused;
//   3. no `allowedNetworks`: allowed, except loopback, which only an explicit allowance opens.
// Private ranges (RFC 1918, fc00::/7) are allowed by default: the VMs this CA serves live there.

import { BlockList, isIP } from 'node:net';

export const ALLOWED_SETTING = 'acme.validation.allowedNetworks';
export const DENIED_SETTING = 'acme.validation.deniedNetworks';

/** Always denied, whatever is configured; checked in this order so the most specific label wins. */
const BUILT_IN_DENIALS: readonly { readonly label: string; readonly networks: readonly string[] }[] = [
  // AWS (IPv4 and IPv6), Azure, GCP and Oracle use 169.254.169.254; Alibaba 100.100.100.200.
  { label: 'a cloud metadata address', networks: ['169.254.169.254/32', 'fd00:ec2::254/128', '100.100.100.200/32'] },
  { label: 'link-local', networks: ['169.254.0.0/16', 'fe80::/10'] },
  { label: 'multicast', networks: ['224.0.0.0/4', 'ff00::/8'] },
  // Connecting to 0.0.0.0 or :: reaches the local host on Linux.
  { label: 'unspecified', networks: ['0.0.0.0/8', '::/128'] },
];

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

export type NetworkVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export type ParsedNetworks = { readonly ok: true; readonly value: ValidationNetworks } | { readonly ok: false; readonly problems: readonly string[] };

export class ValidationNetworks {
  private constructor(
    private readonly builtIn: readonly { readonly label: string; readonly list: BlockList }[],
    private readonly loopback: BlockList,
    private readonly denied: BlockList | null,
    private readonly allowed: BlockList | null,
  ) {}

  /** Every bad entry is reported, naming the setting, so a start-up error lists them all. */
  static parse(allowed: readonly string[], denied: readonly string[]): ParsedNetworks {
    const problems: string[] = [];
    const allowedList = allowed.length > 0 ? blockList(allowed, ALLOWED_SETTING, problems) : null;
    const deniedList = denied.length > 0 ? blockList(denied, DENIED_SETTING, problems) : null;
    if (problems.length > 0) return { ok: false, problems };
    const builtIn = BUILT_IN_DENIALS.map(({ label, networks }) => ({ label, list: blockList(networks, 'built-in', problems) }));
    return { ok: true, value: new ValidationNetworks(builtIn, blockList(LOOPBACK, 'built-in', problems), deniedList, allowedList) };
  }

  check(address: string): NetworkVerdict {
    const version = isIP(address);
    if (version === 0) return { allowed: false, reason: `${JSON.stringify(address)} is not an IP address` };
    const family = version === 6 ? 'ipv6' : 'ipv4';
    // BlockList matches an IPv4-mapped IPv6 address (::ffff:a.b.c.d) against IPv4 rules as well,
    // so an AAAA record cannot smuggle a denied IPv4 address past these checks.
    for (const { label, list } of this.builtIn) {
      if (list.check(address, family)) {
        return { allowed: false, reason: `${address} is ${label}, which ${DENIED_SETTING} always includes` };
      }
    }
    if (this.denied?.check(address, family)) return { allowed: false, reason: `${address} is in a network listed in ${DENIED_SETTING}` };
    if (this.allowed !== null) {
      return this.allowed.check(address, family) ? { allowed: true } : { allowed: false, reason: `${address} is not in ${ALLOWED_SETTING}` };
    }
    if (this.loopback.check(address, family)) {
      return { allowed: false, reason: `${address} is a loopback address, allowed only when ${ALLOWED_SETTING} names it` };
    }
    return { allowed: true };
  }
}

/** "a.b.c.d/len", "x::y/len", or a bare address (one host). */
function blockList(entries: readonly string[], setting: string, problems: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefixText = slash < 0 ? String(max) : entry.slice(slash + 1);
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (family === 0 || !(prefix >= 0 && prefix <= max)) {
      problems.push(`${setting}: ${JSON.stringify(entry)} is not a network in CIDR notation (such as 10.0.0.0/8 or fd00::/8)`);
      continue;
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** One parsed copy per settings object: the settings live as long as the process, and are frozen. */
const cache = new WeakMap<object, ValidationNetworks>();

/** The networks of these settings; throws (a configuration that start-up should have refused) if invalid. */
export function networksOf(settings: {
  readonly allowedNetworks: readonly string[];
  readonly deniedNetworks: readonly string[];
}): ValidationNetworks {
  let networks = cache.get(settings);
  if (networks === undefined) {
    const parsed = ValidationNetworks.parse(settings.allowedNetworks, settings.deniedNetworks);
    if (!parsed.ok) throw new RangeError(parsed.problems.join('; '));
    networks = parsed.value;
    cache.set(settings, networks);
  }
  return networks;
}
