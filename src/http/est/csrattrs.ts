// /csrattrs (RFC 7030 §4.5): what the CA wants to see in a CSR, as a DER CsrAttrs:
//   CsrAttrs ::= SEQUENCE OF AttrOrOID;  AttrOrOID ::= CHOICE { OBJECT IDENTIFIER, Attribute }
// The key types come from the policy's guardrails, so the hint never promises more than the
// policy grants. challengePassword asks for channel binding; ecdsa-with-SHA256 is the signature
// every CSR from a P-256 key should carry.

import { oid, seq, set, smallInteger } from '../../pki/der.js';
import { OID } from '../../pki/oids.js';
import type { KeyAlgorithm } from '../../policy/types.js';

const CURVES: Partial<Record<KeyAlgorithm, string>> = { 'ecdsa-p256': OID.prime256v1, 'ecdsa-p384': OID.secp384r1 };
const RSA_BITS: Partial<Record<KeyAlgorithm, number>> = { 'rsa-2048': 2048, 'rsa-3072': 3072, 'rsa-4096': 4096 };

export function csrAttributes(keyAlgorithms: readonly KeyAlgorithm[]): Buffer {
  const items: Buffer[] = [oid(OID.challengePassword)];
  const curves = keyAlgorithms.map((k) => CURVES[k]).filter((c): c is string => c !== undefined);
  if (curves.length > 0) items.push(seq(oid(OID.ecPublicKey), set(...curves.map(oid))));
  const rsa = keyAlgorithms.map((k) => RSA_BITS[k]).filter((b): b is number => b !== undefined);
  if (rsa.length > 0) items.push(seq(oid(OID.rsaEncryption), set(...rsa.map(smallInteger))));
  if (curves.length > 0) items.push(oid(OID.ecdsaWithSha256));
  return seq(...items);
}
