// Who is this EST client? RFC 7030 §3.3: a TLS client certificate, or HTTP Basic over TLS.
//
//   - a current certificate from this CA (an X509-SVID): auth `svid`; the only credential
//     simplereenroll accepts;
//   - a certificate chaining to the label's trust anchors (manufacturer or bootstrap
//     certificates): auth `trust-anchor`;
//   - HTTP Basic with a stored credential: auth `basic`.
// A certificate that is neither does not authenticate; Basic, if sent as well, still may.
// The result is the requester the policy matches, or the reason for a 401 together with what
// was presented, so the refusal can be recorded against it.

import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Requester } from '../../policy/types.js';
import { REVOKED_REASON, authenticatePeer, type PeerTrust } from '../auth/svid-peer.js';
import type { TrustAnchors } from './anchors.js';
import type { BasicUsers } from './users.js';
import { readCertificateNames, renderNames } from '../../pki/certificate-names.js';

export type EstRequester = Extract<Requester, { kind: 'est-client' }>;

export type AuthResult =
  | {
      readonly ok: true;
      readonly requester: EstRequester;
      /** The client certificate that authenticated, if one did (simplereenroll compares against it). */
      readonly certificate: X509Certificate | null;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      /**
       * The credential that failed: HTTP Basic if one was sent, else the client certificate.
       * null when the request carried no credentials at all: the start of HTTP authentication,
       * answered with the challenge and not recorded as a denial.
       */
      readonly presented: 'basic' | 'certificate' | null;
      /** Who the credential named (a Basic user name, a certificate's name), for the ledger; unverified. */
      readonly claimed: string | null;
    };

interface PeerFacts {
  readonly leaf: X509Certificate;
  readonly offered: readonly X509Certificate[];
  readonly certificate: NonNullable<EstRequester['certificate']>;
  readonly name: string;
  /** Chain verdicts per anchor set (one per label), computed on first use on this connection. */
  readonly chains: Map<TrustAnchors, ReturnType<TrustAnchors['verify']>>;
}

/** A connection's certificate does not change; its description and chain verdicts are kept per socket. */
const peers = new WeakMap<TLSSocket, PeerFacts | null>();

export interface AuthContext {
  readonly socket: TLSSocket;
  readonly authorization: string | undefined;
  readonly label: string | null;
  readonly anchors: TrustAnchors;
  readonly issuing: X509Certificate;
  /** The issuing CA again, with its key id and revocations, as svid authentication needs them. */
  readonly trust: PeerTrust;
  readonly users: BasicUsers;
  readonly now?: number;
}

export async function authenticate(ctx: AuthContext): Promise<AuthResult> {
  const now = ctx.now ?? Date.now();
  const peer = peerFacts(ctx.socket);
  let certificateProblem: string | null = null;
  if (peer !== null) {
    // A revoked certificate from this CA authenticates nothing: not as an SVID, not through trust
    // anchors that include this CA, and Basic sent on the same connection does not rescue it.
    if (ctx.trust.revocations.isRevoked(ctx.trust.issuerKeyId, peer.leaf.serialNumber) && peer.leaf.checkIssued(ctx.issuing)) {
      return { ok: false, reason: REVOKED_REASON, presented: 'certificate', claimed: `${peer.name} (serial ${peer.certificate.serial})` };
    }
    const svid = authenticatePeer(ctx.socket, ctx.trust, now);
    if (svid?.ok) {
      return {
        ok: true,
        requester: {
          kind: 'est-client',
          name: peer.name,
          label: ctx.label,
          certificate: peer.certificate,
          auth: 'svid',
          spiffeId: svid.requester.spiffeId,
        },
        certificate: peer.leaf,
      };
    }
    const chain = anchoredChain(peer, ctx.anchors);
    if (chain.ok && now >= chain.notBefore && now <= chain.notAfter) {
      return {
        ok: true,
        requester: { kind: 'est-client', name: peer.name, label: ctx.label, certificate: peer.certificate, auth: 'trust-anchor', spiffeId: null },
        certificate: peer.leaf,
      };
    }
    // Say what is wrong with the certificate as the client will understand it: one from this CA
    // that has expired is "expired", not "does not chain to a trust anchor".
    if (peer.leaf.checkIssued(ctx.issuing)) {
      certificateProblem = svid?.ok === false ? svid.reason : 'the client certificate is not usable';
    } else if (chain.ok) {
      certificateProblem = 'the client certificate (or a certificate in its chain) is not currently valid';
    } else {
      certificateProblem = `the client certificate was not issued by this CA, and ${chain.reason}`;
    }
  }

  if (ctx.authorization !== undefined) {
    return basic(ctx);
  }
  return {
    ok: false,
    reason: certificateProblem ?? 'authentication required: a client certificate, or HTTP Basic credentials',
    presented: peer === null ? null : 'certificate',
    claimed: peer === null ? null : `${peer.name} (serial ${peer.certificate.serial})`,
  };
}

async function basic(ctx: AuthContext): Promise<AuthResult> {
  const header = ctx.authorization!;
  const refused = (reason: string, claimed: string | null): AuthResult => ({ ok: false, reason, presented: 'basic', claimed });
  const m = /^Basic +([A-Za-z0-9+/]+={0,2})$/i.exec(header);
  if (!m) return refused('the Authorization header must be "Basic <base64 of user:password>"', null);
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return refused('the Basic credentials must be "user:password"', null);
  const name = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  // The name goes into the ledger even when refused, but only in a harmless shape.
  const shownName = /^[\x21-\x7e]{1,128}$/.test(name) ? name : null;
  // Repeats are answered from BasicUsers' memory of verified credentials, whatever the connection.
  if (!(await ctx.users.verify(name, password))) return refused('the user name or password is wrong', shownName);
  return { ok: true, requester: { kind: 'est-client', name, label: ctx.label, certificate: null, auth: 'basic', spiffeId: null }, certificate: null };
}

function anchoredChain(peer: PeerFacts, anchors: TrustAnchors): ReturnType<TrustAnchors['verify']> {
  let result = peer.chains.get(anchors);
  if (result === undefined) {
    result = anchors.verify(peer.leaf, peer.offered);
    peer.chains.set(anchors, result);
  }
  return result;
}

function peerFacts(socket: TLSSocket): PeerFacts | null {
  let facts = peers.get(socket);
  if (facts !== undefined) return facts;
  facts = readPeer(socket);
  peers.set(socket, facts);
  return facts;
}

function readPeer(socket: TLSSocket): PeerFacts | null {
  const detailed = socket.getPeerCertificate?.(true);
  if (!detailed || !detailed.raw) return null;
  const leaf = new X509Certificate(detailed.raw);
  const offered: X509Certificate[] = [];
  // Node links each certificate to its issuer as the client sent them; the last links to itself.
  let node = detailed.issuerCertificate;
  let previous = detailed;
  while (node && node !== previous && node.raw && offered.length < 8) {
    offered.push(new X509Certificate(node.raw));
    previous = node;
    node = node.issuerCertificate;
  }
  const subjectParts = leaf.subject ? leaf.subject.split('\n') : [];
  // A certificate whose names do not decode proves no name: it can still match on its subject.
  const names = readCertificateNames(leaf.raw);
  const sans = names.ok ? renderNames(names.names) : [];
  const certificate = {
    subject: subjectParts.join(', '),
    sans,
    issuer: (leaf.issuer ?? '').split('\n').join(', '),
    serial: leaf.serialNumber.toLowerCase(),
  };
  const commonNames = subjectParts.filter((p) => p.startsWith('CN=')).map((p) => p.slice(3));
  const spiffe = names.ok ? names.names.uris.filter((u) => u.startsWith('spiffe://')) : [];
  const name = commonNames.length === 1 ? commonNames[0]! : spiffe.length === 1 ? spiffe[0]! : certificate.subject || `serial:${certificate.serial}`;
  return { leaf, offered, certificate, name, chains: new Map() };
}
