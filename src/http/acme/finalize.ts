// Finalizing an order (RFC 8555 §7.4): the CSR must name exactly the order's identifiers; then the
// order moves ready → processing by compare-and-set, so that of two concurrent finalize calls one
// issues and the other is told the order is not ready. Issuance itself is the Issuer's. An order
// whose finalizing replica died stays processing until a poll settles it (finalize-recovery.ts).

import { createHash } from 'node:crypto';
import type { CheckedCsr } from '../../pki/csr.js';
import { toPem } from '../../pki/certificate.js';
import type { Issuer, RefusalContext } from '../../issuance/issuer.js';
import { acmeAnswer, fail, raise } from './problems.js';
import type { Account, AcmeCertificate, AcmeStore, Order } from './store.js';

/** Rule name of finalize's own refusal: a CSR that names other names than the order. */
export const ORDER_NAMES_RULE = 'acme:order-names';

/**
 * Reads the finalize request's CSR once (through the Issuer, which records a CSR it refuses) and
 * checks that it names exactly the order's identifiers. Returns the checked CSR for issuance.
 */
export async function checkCsrAgainstOrder(csrField: unknown, order: Order, context: RefusalContext, issuer: Issuer): Promise<CheckedCsr> {
  if (typeof csrField !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csrField)) fail('malformed', '"csr" must be a base64url-encoded DER CSR');
  const der = Buffer.from(csrField as string, 'base64url');
  const accepted = await issuer.acceptCsr(context, der);
  if (!accepted.ok) raise(acmeAnswer(accepted.error));
  const csr = accepted.csr;
  const mismatch = namesMismatch(csr, order);
  if (mismatch !== null) {
    const error = await issuer.refuse(
      { ...context, csrSha256: createHash('sha256').update(der).digest('hex') },
      { code: 'bad-csr', rule: ORDER_NAMES_RULE, reason: mismatch },
    );
    raise(acmeAnswer(error));
  }
  return csr;
}

function namesMismatch(csr: CheckedCsr, order: Order): string | null {
  if (csr.requested.uris.length > 0 || csr.requested.ipAddresses.length > 0) {
    return "the CSR may ask only for the order's DNS names; the SPIFFE ID comes from the policy";
  }
  const asked = new Set(csr.requested.dnsNames.map((n) => n.toLowerCase()));
  if (csr.commonName !== null) asked.add(csr.commonName.toLowerCase());
  const ordered = new Set(order.identifiers);
  const extra = [...asked].filter((n) => !ordered.has(n));
  const missing = [...ordered].filter((n) => !asked.has(n));
  if (extra.length === 0 && missing.length === 0) return null;
  const parts = [
    ...(extra.length ? [`names not in the order: ${extra.join(', ')}`] : []),
    ...(missing.length ? [`order names missing from the CSR: ${missing.join(', ')}`] : []),
  ];
  return `the CSR's names differ from the order's (${parts.join('; ')})`;
}

export async function finalizeOrder(
  order: Order,
  account: Account,
  csr: CheckedCsr,
  deps: { readonly store: AcmeStore; readonly issuer: Issuer; readonly now: () => number; readonly client?: string },
): Promise<AcmeCertificate> {
  if (!(await deps.store.beginFinalize(order.id, deps.now()))) {
    fail('orderNotReady', 'the order is not ready: it is being finalized already, or an authorization is no longer valid');
  }
  let issued;
  try {
    issued = await deps.issuer.issue({
      path: 'acme',
      // The order id goes into the ledger with the certificate: if this replica dies before the
      // order is marked valid, a later poll finds the certificate by it (see finalize-recovery).
      // The EAB key id lets an operator revoke what one key's accounts obtained from the ledger alone.
      requester: { kind: 'acme-account', accountId: account.id, binding: account.binding, eabKeyId: account.eabKeyId, orderId: order.id },
      csr,
      client: deps.client ?? null,
      dnsNames: order.identifiers,
    });
  } catch (err) {
    await deps.store.abortFinalize(order.id);
    throw err;
  }
  if (!issued.ok) {
    // Nothing was issued: the order is ready again, and the client may send a better CSR.
    await deps.store.abortFinalize(order.id);
    const e = issued.error;
    raise(acmeAnswer(e));
  }
  const c = issued.certificate;
  const cert: AcmeCertificate = {
    serial: c.serial,
    orderId: order.id,
    accountId: account.id,
    chainPem: toPem(c.der) + toPem(deps.issuer.issuingCertificate),
    identifiers: order.identifiers,
    notBefore: c.notBefore.getTime(),
    notAfter: c.notAfter.getTime(),
  };
  if (!(await deps.store.completeFinalize(cert))) {
    // Only a recovery moves a processing order, and only once it is stale; if one completed it
    // with this very certificate, the client still gets it.
    const now = await deps.store.order(order.id);
    if (now?.status !== 'valid' || now.certificateSerial !== cert.serial) {
      throw new Error(`order ${order.id} was no longer processing when its certificate ${cert.serial} was recorded`);
    }
  }
  return cert;
}
