// mTLS authentication with a current SVID from this CA. The TLS layer requests but does not
// enforce client certificates (token-authenticated agents have none); this check decides.

import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import type { Requester } from '../../policy/types.js';
import { readCertificateNames } from '../../pki/certificate-names.js';
import type { RevocationCheck } from '../../revocation/set.js';

/** null: no client certificate. On failure, `claimed` names the certificate for the denial row. */
export type PeerResult = { ok: true; requester: Extract<Requester, { kind: 'svid' }> } | { ok: false; reason: string; claimed: string } | null;

interface Verified {
  requester: Extract<Requester, { kind: 'svid' }>;
  notBefore: number;
  notAfter: number;
}

/** The CA a client certificate must come from, and what it has revoked. */
export interface PeerTrust {
  readonly issuing: X509Certificate;
  /** The issuing key's identifier, hex: with the serial, what names a certificate. */
  readonly issuerKeyId: string;
  readonly revocations: RevocationCheck;
}

/** The reason a revoked client certificate is refused; the ledger's denial says it. */
export const REVOKED_REASON = 'client certificate is revoked';

/**
 * Connections are long-lived; the chain is checked once per connection, the validity and the
 * revocation per request, so a revocation bites on an already-open keep-alive connection too.
 */
const verifiedSockets = new WeakMap<TLSSocket, Verified | { reason: string; claimed: string }>();

export function authenticatePeer(socket: TLSSocket, trust: PeerTrust, now = Date.now()): PeerResult {
  let entry = verifiedSockets.get(socket);
  if (!entry) {
    const peer = socket.getPeerX509Certificate?.();
    if (!peer) return null;
    entry = verifyPeer(peer, trust.issuing);
    verifiedSockets.set(socket, entry);
  }
  if ('reason' in entry) return { ok: false, reason: entry.reason, claimed: entry.claimed };
  if (trust.revocations.isRevoked(trust.issuerKeyId, entry.requester.serial)) {
    return { ok: false, reason: REVOKED_REASON, claimed: `${entry.requester.spiffeId} (serial ${entry.requester.serial})` };
  }
  if (now < entry.notBefore || now > entry.notAfter) {
    return {
      ok: false,
      reason: 'client certificate is not currently valid',
      claimed: `${entry.requester.spiffeId} (serial ${entry.requester.serial})`,
    };
  }
  return { ok: true, requester: entry.requester };
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

function verifyPeer(peer: X509Certificate, issuing: X509Certificate): Verified | { reason: string; claimed: string } {
  const refused = (reason: string) => ({ reason, claimed: describePeer(peer) });
  if (!peer.checkIssued(issuing) || !peer.verify(issuing.publicKey)) {
    return refused('client certificate was not issued by this CA');
  }
  if (peer.ca) return refused('client certificate is a CA certificate');
  // Only X509-SVIDs carry clientAuth; the CA's own serverAuth-only HTTPS certificate does not.
  if (!(peer.keyUsage ?? []).includes(CLIENT_AUTH)) return refused('client certificate is not for client authentication');
  const read = readCertificateNames(peer.raw);
  if (!read.ok) return refused(`client certificate is not an X509-SVID: ${read.reason}`);
  const [uri, ...more] = read.names.uris;
  if (uri === undefined || more.length > 0 || !uri.startsWith('spiffe://')) return refused('client certificate is not an X509-SVID');
  return {
    requester: { kind: 'svid', spiffeId: uri, serial: peer.serialNumber.toLowerCase() },
    notBefore: Date.parse(peer.validFrom),
    notAfter: Date.parse(peer.validTo),
  };
}

/** Subject and serial of a certificate that did not authenticate: what it claims, bounded. */
function describePeer(peer: X509Certificate): string {
  const subject = (peer.subject ?? '').split('\n').join(', ').slice(0, 200);
  return `${subject || '(empty subject)'} (serial ${peer.serialNumber.toLowerCase()})`;
}
