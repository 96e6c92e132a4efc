// The subjectAltName of a peer's certificate, read from its DER with the strict reader.
//
// Authentication decisions (is this an X509-SVID, which SPIFFE ID, does a renewal keep its names,
// what a policy `san` matcher sees) rest on these names, so they are read from the bytes rather
// than by splitting Node's text rendering, where a comma or ", " inside a name would split it.

import { TAG, childrenOf, contentOf, decodeOid, expectTag, readWhole, type Tlv } from './der.js';
import { formatIp } from './csr.js';
import { OID } from './oids.js';

export interface CertificateNames {
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly emails: readonly string[];
  /** GeneralName kinds this CA never writes (otherName, directoryName, ...), by context tag. */
  readonly otherKinds: readonly number[];
}

export type NamesResult = { readonly ok: true; readonly names: CertificateNames } | { readonly ok: false; readonly reason: string };

const NONE: CertificateNames = { uris: [], dnsNames: [], ipAddresses: [], emails: [], otherKinds: [] };

export function readCertificateNames(certificateDer: Uint8Array): NamesResult {
  try {
    return { ok: true, names: read(certificateDer) };
  } catch (err) {
    return { ok: false, reason: `the certificate's subjectAltName does not decode: ${(err as Error).message}` };
  }
}

/**
 * The names as policy `san` matchers see them: `URI:…`, `DNS:…`, `IP Address:…` (the codec's
 * canonical text), `email:…`, in the certificate's kinds order.
 */
export function renderNames(n: CertificateNames): string[] {
  return [
    ...n.uris.map((u) => `URI:${u}`),
    ...n.dnsNames.map((d) => `DNS:${d}`),
    ...n.ipAddresses.map((ip) => `IP Address:${ip}`),
    ...n.emails.map((e) => `email:${e}`),
  ];
}

function read(der: Uint8Array): CertificateNames {
  const [tbs] = childrenOf(der, expectTag(readWhole(der), TAG.SEQUENCE, 'Certificate'));
  const extensionsField = childrenOf(der, expectTag(tbs, TAG.SEQUENCE, 'TBSCertificate')).find((f) => f.tag === 0xa3);
  if (extensionsField === undefined) return NONE;
  const [extensions] = childrenOf(der, extensionsField);
  let found: CertificateNames | null = null;
  for (const ext of childrenOf(der, expectTag(extensions, TAG.SEQUENCE, 'Extensions'))) {
    const parts = childrenOf(der, expectTag(ext, TAG.SEQUENCE, 'Extension'));
    if (decodeOid(contentOf(der, expectTag(parts[0], TAG.OID, 'extnID'))) !== OID.subjectAltName) continue;
    if (found !== null) throw new Error('two subjectAltName extensions');
    found = generalNames(contentOf(der, expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extnValue')));
  }
  return found ?? NONE;
}

function generalNames(value: Uint8Array): CertificateNames {
  const out = { uris: [] as string[], dnsNames: [] as string[], ipAddresses: [] as string[], emails: [] as string[], otherKinds: [] as number[] };
  for (const name of childrenOf(value, expectTag(readWhole(value), TAG.SEQUENCE, 'GeneralNames'))) {
    switch (name.tag) {
      case 0x81:
        out.emails.push(ia5(value, name));
        break;
      case 0x82:
        out.dnsNames.push(ia5(value, name));
        break;
      case 0x86:
        out.uris.push(ia5(value, name));
        break;
      case 0x87:
        out.ipAddresses.push(formatIp(contentOf(value, name)));
        break;
      default:
        out.otherKinds.push(name.tag & 0x1f);
    }
  }
  return out;
}

function ia5(buf: Uint8Array, t: Tlv): string {
  const raw = contentOf(buf, t);
  for (const b of raw) if (b < 0x21 || b > 0x7e) throw new Error('a name holds a character outside printable ASCII');
  return Buffer.from(raw).toString('latin1');
}
