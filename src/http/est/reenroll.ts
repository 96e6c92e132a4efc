// simplereenroll (RFC 7030 §4.2.2): renewal or rekey of the certificate the client authenticated
// with. The subject and subjectAltName of the request must be those of that certificate; anything
// else would be a new enrollment in renewal's clothing.

import type { X509Certificate } from 'node:crypto';
import { ipBytes, subjectOfCertificate } from '../../pki/certificate.js';
import { subjectOfCsr } from '../../pki/csr-encode.js';
import type { CheckedCsr } from '../../pki/csr.js';
import { readCertificateNames } from '../../pki/certificate-names.js';

export type SameNames = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function checkSameNames(current: X509Certificate, csr: CheckedCsr): SameNames {
  if (!Buffer.from(subjectOfCertificate(current.raw)).equals(subjectOfCsr(csr.der))) {
    return { ok: false, reason: 'simplereenroll must keep the subject of the current certificate (an empty subject: openssl req -subj "/")' };
  }
  const have = certificateSans(current);
  const want = [
    ...csr.requested.uris.map((u) => `URI:${u}`),
    ...csr.requested.dnsNames.map((d) => `DNS:${d.toLowerCase()}`),
    ...csr.requested.ipAddresses.map((ip) => `IP:${ipBytes(ip).toString('hex')}`),
  ].sort();
  if (have.length !== want.length || have.some((n, i) => n !== want[i])) {
    return {
      ok: false,
      reason: `simplereenroll must keep the subjectAltName of the current certificate (${have.join(', ')}); the CSR asks for ${want.join(', ') || 'none'}`,
    };
  }
  return { ok: true };
}

/** The certificate's SANs in the form built above; IPs as bytes, since text forms of IPv6 vary. */
function certificateSans(cert: X509Certificate): string[] {
  const read = readCertificateNames(cert.raw);
  // Only this CA's own certificates reach reenroll, and it writes names that decode.
  if (!read.ok) return [`undecodable: ${read.reason}`];
  const n = read.names;
  return [
    ...n.uris.map((u) => `URI:${u}`),
    ...n.dnsNames.map((d) => `DNS:${d.toLowerCase()}`),
    ...n.ipAddresses.map((ip) => `IP:${ipBytes(ip).toString('hex')}`),
    ...n.emails.map((e) => `email:${e}`),
    ...n.otherKinds.map((k) => `other:${k}`),
  ].sort();
}
