// The key authorization digest both dns-01 (RFC 8555 §8.4) and tls-alpn-01 (RFC 8737 §3) look for.

import { createHash } from 'node:crypto';

export function keyAuthorizationDigest(keyAuthorization: string): Buffer {
  return createHash('sha256').update(keyAuthorization, 'utf8').digest();
}
