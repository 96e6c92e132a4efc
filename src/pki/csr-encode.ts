// Writing PKCS#10 requests, and reading the one field of a request the strict parser does not
// return (the subject Name, byte for byte).
//
// EST's serverkeygen needs both: the server makes the key, so the request that reaches the
// Issuer must be one signed by that key, carrying the names and subject the client asked for.

import type { KeyObject } from 'node:crypto';
import { ipBytes, type SubjectAltNames } from './certificate.js';
import { DerError, bitString, bytesOf, childrenOf, explicit, octets, oid, readWhole, seq, set, smallInteger, tlv } from './der.js';
import { signEcdsaSha256, spkiDer } from './keys.js';
import { OID } from './oids.js';

/** A CertificationRequest signed with ecdsa-with-SHA256 by `key` (a P-256 private key). */
export function encodeCsr(key: KeyObject, subjectDer: Uint8Array, names: SubjectAltNames): Buffer {
  const generalNames: Buffer[] = [];
  for (const uri of names.uris) generalNames.push(tlv(0x86, Buffer.from(uri, 'latin1')));
  for (const dns of names.dnsNames) generalNames.push(tlv(0x82, Buffer.from(dns, 'latin1')));
  for (const ip of names.ipAddresses) generalNames.push(tlv(0x87, ipBytes(ip)));
  const attributes =
    generalNames.length === 0
      ? Buffer.alloc(0)
      : seq(oid(OID.extensionRequest), set(seq(seq(oid(OID.subjectAltName), octets(seq(...generalNames))))));
  const info = seq(smallInteger(0), subjectDer, spkiDer(key), explicit(0, attributes));
  return seq(info, seq(oid(OID.ecdsaWithSha256)), bitString(signEcdsaSha256(key, info)));
}

/** The subject Name of a DER CSR, as encoded. Throws DerError on a malformed request. */
export function subjectOfCsr(der: Uint8Array): Buffer {
  const [info] = childrenOf(der, readWhole(der));
  const fields = childrenOf(der, info!);
  if (fields.length !== 4) throw new DerError('CertificationRequestInfo must have four fields');
  return Buffer.from(bytesOf(der, fields[1]!));
}
