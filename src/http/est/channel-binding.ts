// Channel binding for EST (RFC 7030 §3.5): a client may put the TLS channel's unique value,
// base64-encoded, in its CSR's challengePassword, binding the request to the connection it came
// on. tls-unique (RFC 5929) on TLS 1.2; tls-exporter (RFC 9266) on TLS 1.3, which has no
// tls-unique. When a CSR carries a challengePassword it must be the binding of this connection.

import { timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

export type BindingCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** challengePassword's OID (1.2.840.113549.1.9.7) as DER, to skip parsing CSRs that cannot hold one. */
const CHALLENGE_PASSWORD_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07]);

export function mayCarryChallengePassword(csrDer: Buffer): boolean {
  return csrDer.includes(CHALLENGE_PASSWORD_OID);
}

/** The connection's channel binding value and its type, or null on a protocol that has none. */
export function channelBinding(socket: TLSSocket): { readonly type: 'tls-unique' | 'tls-exporter'; readonly value: Buffer } | null {
  const protocol = socket.getProtocol();
  if (protocol === 'TLSv1.3') {
    return { type: 'tls-exporter', value: socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)) };
  }
  if (protocol === 'TLSv1.2') {
    // The first Finished message of the handshake: the client's in a full handshake, the
    // server's (ours) in an abbreviated one.
    const first = socket.isSessionReused() ? socket.getFinished() : socket.getPeerFinished();
    return first ? { type: 'tls-unique', value: first } : null;
  }
  return null;
}

export function checkChannelBinding(socket: TLSSocket, challengePassword: string): BindingCheck {
  const binding = channelBinding(socket);
  if (binding === null) return { ok: false, reason: 'this connection has no channel binding value to check the challengePassword against' };
  const sent = Buffer.from(challengePassword.trim(), 'latin1');
  const expected = Buffer.from(binding.value.toString('base64'), 'latin1');
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
    return { ok: false, reason: `the CSR's challengePassword is not this connection's ${binding.type} channel binding (base64)` };
  }
  return { ok: true };
}
