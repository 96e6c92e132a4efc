// Trust bundles: the PEM concatenation operators expect, and the SPIFFE bundle format
// (a JWK Set whose keys carry `use: "x509-svid"` and the CA certificate in `x5c`).

import type { X509Certificate } from 'node:crypto';
import { toPem } from './certificate.js';

export function pemBundle(roots: readonly X509Certificate[]): string {
  return roots.map((r) => toPem(r.raw)).join('');
}

export function spiffeBundle(roots: readonly X509Certificate[], opts: { sequence: number; refreshHintSeconds: number }): object {
  return {
    keys: roots.map((r) => ({ ...r.publicKey.export({ format: 'jwk' }), use: 'x509-svid', x5c: [r.raw.toString('base64')] })),
    spiffe_sequence: opts.sequence,
    spiffe_refresh_hint: opts.refreshHintSeconds,
  };
}
