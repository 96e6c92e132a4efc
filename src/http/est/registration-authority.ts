// Registration authorities (RFC 7030 §3.7): an EST proxy such as libest's estproxy, or a gateway,
// terminates the device's TLS connection and forwards the device's CSR on a connection of its
// own. A CSR bound to the device's connection carries that connection's tls-unique in
// challengePassword, which can never match the RA's connection to us; the RA checked it and
// vouches for the proof of possession instead.
//
// That is trusted only where an operator said so (a label configured to trust RAs) and only from
// a client certificate that authenticated there and carries id-kp-cmcRA, the EKU that names its
// holder an RA (RFC 6402 §2.10). Everyone else, gateways without the EKU included, still has
// their challengePassword checked against our own connection.

import type { X509Certificate } from 'node:crypto';
import type { EstRequester } from './authenticate.js';

/** id-kp-cmcRA. */
export const ID_KP_CMC_RA = '1.3.6.1.5.5.7.3.28';

/** Who vouched for a CSR's proof of possession, as the ledger records it. */
export type PopVoucher = NonNullable<EstRequester['popVouchedBy']>;

/**
 * The RA that vouches for this request's proof of possession, or null when the request speaks
 * only for itself. `certificate` is the client certificate that authenticated the request.
 */
export function registrationAuthority(labelTrustsRas: boolean, certificate: X509Certificate | null, requester: EstRequester): PopVoucher | null {
  if (!labelTrustsRas || certificate === null || requester.certificate === null) return null;
  if (!(certificate.keyUsage ?? []).includes(ID_KP_CMC_RA)) return null;
  const spiffeUri = requester.certificate.sans.find((s) => s.startsWith('URI:spiffe://'));
  return {
    subject: requester.certificate.subject,
    serial: requester.certificate.serial ?? certificate.serialNumber.toLowerCase(),
    spiffeId: requester.spiffeId ?? (spiffeUri === undefined ? null : spiffeUri.slice('URI:'.length)),
  };
}
