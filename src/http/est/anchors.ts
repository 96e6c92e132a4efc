// Client certificates that are not from this CA: manufacturer (IDevID-style) or bootstrap
// certificates, accepted on a label only when they chain to one of that label's trust anchors.
//
// The TLS layer requests client certificates but lets any through (the API has token clients);
// the handshake has already proved the client holds the key, so this only has to judge the chain.

import { X509Certificate } from 'node:crypto';

/** Longest chain accepted from leaf to anchor, intermediates included. */
const MAX_DEPTH = 5;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export type ChainResult =
  | {
      readonly ok: true;
      /** The chain's validity window, narrowed over every certificate in it. */ readonly notBefore: number;
      readonly notAfter: number;
    }
  | { readonly ok: false; readonly reason: string };

export class TrustAnchors {
  constructor(readonly certificates: readonly X509Certificate[]) {}

  static fromPem(pem: string): TrustAnchors {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    return new TrustAnchors(blocks.map((b) => new X509Certificate(b)));
  }

  get empty(): boolean {
    return this.certificates.length === 0;
  }

  /**
   * Whether `leaf` chains to an anchor through `offered` (the intermediates the client sent).
   * Time is not judged here but returned as a window, so a cached result stays checkable.
   */
  verify(leaf: X509Certificate, offered: readonly X509Certificate[]): ChainResult {
    if (this.empty) return { ok: false, reason: 'no trust anchors are configured for client certificates here' };
    if (leaf.ca) return { ok: false, reason: 'the client certificate is a CA certificate' };
    const eku = leaf.keyUsage;
    if (eku !== undefined && eku.length > 0 && !eku.includes(CLIENT_AUTH)) {
      return { ok: false, reason: 'the client certificate is not for client authentication (extendedKeyUsage)' };
    }
    let notBefore = Date.parse(leaf.validFrom);
    let notAfter = Date.parse(leaf.validTo);
    let current = leaf;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const anchor = this.certificates.find((a) => issuedBy(current, a));
      if (anchor !== undefined) {
        notBefore = Math.max(notBefore, Date.parse(anchor.validFrom));
        notAfter = Math.min(notAfter, Date.parse(anchor.validTo));
        return { ok: true, notBefore, notAfter };
      }
      const next = offered.find((c) => c !== current && c.ca && issuedBy(current, c));
      if (next === undefined) break;
      notBefore = Math.max(notBefore, Date.parse(next.validFrom));
      notAfter = Math.min(notAfter, Date.parse(next.validTo));
      current = next;
    }
    return { ok: false, reason: 'the client certificate does not chain to a trust anchor configured here' };
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}
