// An authoritative DNS server for tests: real UDP and TCP on 127.0.0.1, on one kernel-chosen
// port, answering A, AAAA and TXT from tables the test controls. Point a resolver setting at
// `address` and names like vm1.acme.test resolve without touching the machine's configuration.
//
// A name that has no record of any type gets NXDOMAIN; a name that has records, but not of the
// type asked, gets an empty NOERROR answer, as a real zone does. Answers too large for UDP are
// sent truncated, so resolvers retry over TCP, also as a real server does.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, isIPv4, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';

/** A TXT record: one string (split into 255-byte character-strings as needed) or its explicit chunks. */
export type TxtRecord = string | readonly string[];

type Table<V> = Record<string, V> | Map<string, V>;

export interface DnsServerOptions {
  /** IPv4 answers by name. Without it, every name resolves to 127.0.0.1. */
  readonly a?: Table<string | readonly string[]>;
  /** IPv6 answers by name; none by default. */
  readonly aaaa?: Table<string | readonly string[]>;
  readonly txt?: Table<TxtRecord | readonly TxtRecord[]>;
  /** TTL of every answer, in seconds (default 0, so nothing caches a test's old answer). */
  readonly ttl?: number;
}

export interface DnsQuery {
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

export interface DnsServer {
  /** "127.0.0.1:PORT", the form a resolver setting takes. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Every question asked so far, in order. */
  readonly queries: readonly DnsQuery[];
  /** Replaces the TXT records of a name; an empty list removes them. */
  setTxt(name: string, values: readonly TxtRecord[]): void;
  /** Replaces the A records of a name (and ends the "every name" default); an empty list removes them. */
  setA(name: string, addresses: readonly string[]): void;
  setAaaa(name: string, addresses: readonly string[]): void;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_UDP_PAYLOAD = 512;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function toList<V>(value: V | readonly V[]): readonly V[] {
  return Array.isArray(value) ? (value as readonly V[]) : [value as V];
}

function tableOf<V>(table: Table<V | readonly V[]> | undefined): Map<string, readonly V[]> {
  const entries = table instanceof Map ? [...table.entries()] : Object.entries(table ?? {});
  return new Map(entries.map(([name, value]) => [canonical(name), toList(value)]));
}

/** The chunks of a TXT record: a string is split into 255-byte character-strings, as zone files do. */
function txtChunks(record: TxtRecord): Buffer[] {
  if (typeof record !== 'string') return record.map((chunk) => Buffer.from(chunk, 'utf8'));
  const bytes = Buffer.from(record, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) chunks.push(bytes.subarray(i, i + 255));
  return chunks.length > 0 ? chunks : [Buffer.alloc(0)];
}

function setEntry<V>(table: Map<string, readonly V[]>, name: string, values: readonly V[]): void {
  if (values.length === 0) table.delete(canonical(name));
  else table.set(canonical(name), [...values]);
}

export async function startDnsServer(options: DnsServerOptions = {}): Promise<DnsServer> {
  const a = tableOf(options.a);
  let everyNameIsLocal = options.a === undefined;
  const aaaa = tableOf(options.aaaa);
  const txt = tableOf<TxtRecord>(options.txt);
  const ttl = options.ttl ?? 0;
  const queries: DnsQuery[] = [];

  for (const [name, list] of a) if (!list.every(isIPv4)) throw new TypeError(`A records for ${name} must be IPv4 addresses`);
  for (const [name, list] of aaaa) if (!list.every(isIPv6)) throw new TypeError(`AAAA records for ${name} must be IPv6 addresses`);

  function answer(query: dnsPacket.DecodedPacket, transport: DnsQuery['transport']): dnsPacket.Packet {
    const answers: dnsPacket.Answer[] = [];
    let rcode = 0;
    for (const q of query.questions ?? []) {
      const name = canonical(q.name);
      queries.push({ name, type: q.type, transport });
      const v4 = everyNameIsLocal ? [HOST] : a.get(name);
      const exists = v4 !== undefined || aaaa.has(name) || txt.has(name);
      if (!exists) {
        rcode = RCODE_NXDOMAIN;
        continue;
      }
      if (q.class !== 'IN') {
        rcode = RCODE_NOTIMP;
        continue;
      }
      // dns-packet's types leave ANY out of the question type, though resolvers do ask it.
      const type: string = q.type;
      if (type === 'A' || type === 'ANY') for (const data of v4 ?? []) answers.push({ type: 'A', name: q.name, ttl, data });
      if (type === 'AAAA' || type === 'ANY') for (const data of aaaa.get(name) ?? []) answers.push({ type: 'AAAA', name: q.name, ttl, data });
      if (type === 'TXT' || type === 'ANY')
        for (const record of txt.get(name) ?? []) answers.push({ type: 'TXT', name: q.name, ttl, data: txtChunks(record) });
    }
    const edns = query.additionals?.find((r): r is dnsPacket.OptAnswer => r.type === 'OPT');
    return {
      type: 'response',
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
      questions: query.questions ?? [],
      answers,
      additionals: edns
        ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
        : [],
    };
  }

  function udpPayloadLimit(query: dnsPacket.DecodedPacket): number {
    const edns = query.additionals?.find((r): r is dnsPacket.OptAnswer => r.type === 'OPT');
    return Math.max(MAX_UDP_PAYLOAD, edns?.udpPayloadSize ?? 0);
  }

  function onUdpMessage(udp: Socket, message: Buffer, peer: RemoteInfo): void {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return; // Not DNS: a real server drops it too.
    }
    let response = answer(query, 'udp');
    if (dnsPacket.encodingLength(response) > udpPayloadLimit(query)) {
      response = { ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [] };
    }
    udp.send(dnsPacket.encode(response), peer.port, peer.address);
  }

  const connections = new Set<TcpSocket>();
  const tcp: Server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      // Each message on a TCP stream is preceded by its two-byte length (RFC 1035 §4.2.2).
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const length = pending.readUInt16BE(0);
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        let query: dnsPacket.DecodedPacket;
        try {
          query = dnsPacket.decode(message);
        } catch {
          socket.destroy();
          return;
        }
        socket.write(dnsPacket.streamEncode(answer(query, 'tcp')));
      }
    });
  });

  const { udp, port } = await bindBoth(onUdpMessage, tcp);

  return {
    address: `${HOST}:${port}`,
    host: HOST,
    port,
    queries,
    setTxt: (name, values) => setEntry(txt, name, values),
    setA: (name, addresses) => {
      if (!addresses.every(isIPv4)) throw new TypeError(`A records for ${name} must be IPv4 addresses`);
      everyNameIsLocal = false;
      setEntry(a, name, addresses);
    },
    setAaaa: (name, addresses) => {
      if (!addresses.every(isIPv6)) throw new TypeError(`AAAA records for ${name} must be IPv6 addresses`);
      setEntry(aaaa, name, addresses);
    },
    close: async () => {
      for (const socket of connections) socket.destroy();
      await Promise.all([new Promise<void>((done) => udp.close(() => done())), new Promise<void>((done) => tcp.close(() => done()))]);
    },
  };
}

/**
 * UDP and TCP on the same port, as resolvers expect when they fall back to TCP. The kernel picks
 * the UDP port; if that port is taken for TCP, both are given up and another is picked.
 */
async function bindBoth(onMessage: (udp: Socket, message: Buffer, peer: RemoteInfo) => void, tcp: Server): Promise<{ udp: Socket; port: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    udp.on('message', (message, peer) => onMessage(udp, message, peer));
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: HOST, port: 0, exclusive: true }, () => {
        udp.off('error', reject);
        resolve(udp.address().port);
      });
    });
    const listening = await new Promise<boolean>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err));
      tcp.once('error', onError);
      tcp.listen({ host: HOST, port, exclusive: true }, () => {
        tcp.off('error', onError);
        resolve(true);
      });
    });
    if (listening) return { udp, port };
    await new Promise<void>((done) => udp.close(() => done()));
  }
  throw new Error('no port was free for both UDP and TCP');
}
