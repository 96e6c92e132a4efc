// Finalizing an order (RFC 8555 §7.4): the CSR must name exactly the order's identifiers; then the
// order moves ready → processing by compare-and-set, so that of two concurrent finalize calls one
// issues and the other is told the order is not ready. Issuance itself is the Issuer's. An order
// whose finalizing replica died stays processing until a poll settles it (finalize-recovery.ts).

import { parseCsr } from '../../pki/csr.js';
import { toPem } from '../../pki/certificate.js';
import type { Issuer } from '../../issuance/issuer.js';
import { fail, policyDetail } from './problems.js';
import type { Account, AcmeCertificate, AcmeStore, Order } from './store.js';

/** Checks the CSR against the order; returns its DER. Changes nothing. */
export function checkCsrAgainstOrder(csrField: unknown, order: Order): Buffer {
  if (typeof csrField !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csrField)) fail('malformed', '"csr" must be a base64url-encoded DER CSR');
  const der = Buffer.from(csrField as string, 'base64url');
  const parsed = parseCsr(der);
  if (!parsed.ok) fail('badCSR', `the CSR is not acceptable: ${parsed.error.message}`);
  const csr = parsed.csr;
  if (csr.requested.uris.length > 0 || csr.requested.ipAddresses.length > 0) {
    fail('badCSR', 'the CSR may ask only for the order\'s DNS names; the SPIFFE ID comes from the policy');
  }
  const asked = new Set(csr.requested.dnsNames.map((n) => n.toLowerCase()));
  if (csr.commonName !== null) asked.add(csr.commonName.toLowerCase());
  const ordered = new Set(order.identifiers);
  const extra = [...asked].filter((n) => !ordered.has(n));
  const missing = [...ordered].filter((n) => !asked.has(n));
  if (extra.length > 0 || missing.length > 0) {
    const parts = [
      ...(extra.length ? [`names not in the order: ${extra.join(', ')}`] : []),
      ...(missing.length ? [`order names missing from the CSR: ${missing.join(', ')}`] : []),
    ];
    fail('badCSR', `the CSR's names differ from the order's (${parts.join('; ')})`);
  }
  return der;
}

export async function finalizeOrder(
  order: Order,
  account: Account,
  csrDer: Buffer,
  deps: { readonly store: AcmeStore; readonly issuer: Issuer; readonly now: () => number },
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
      requester: { kind: 'acme-account', accountId: account.id, binding: account.binding, orderId: order.id },
      csrDer,
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
    if (e.kind === 'unavailable') fail('serverInternal', e.message, { status: 503, retryAfterSeconds: e.retryAfterSeconds });
    fail('badCSR', e.kind === 'denied' ? policyDetail(e.message, e.rule) : e.message);
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
