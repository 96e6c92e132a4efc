// An order left `processing` by a replica that died mid-finalize. RFC 8555 §7.4 gives the client
// no way out of `processing` but to poll, so the poll settles it, the way a stale challenge is
// taken over: once the order has been processing longer than any live finalize can take
// (acme.finalizeTimeoutSeconds; the Issuer's audit hand-off gives up within seconds), either
//   - the Issuer signed a certificate for it: its audit event names the order, so the ledger has
//     it, and the order completes with that certificate; or
//   - the ledger has none: nothing was issued, and the order returns to `ready` so the client can
//     finalize again.
// Both steps are compare-and-set on the stale processing row, and the return to `ready` re-checks
// the ledger in the same statement, so replicas polling at once settle an order once and never
// let it be issued twice. The one assumption: the ledger has written an issued certificate's row
// within the timeout (immediate in the embedded mode; the worker's lag behind Redis otherwise).

import type { FastifyBaseLogger } from 'fastify';
import { toPem } from '../../pki/certificate.js';
import type { Issuer } from '../../issuance/issuer.js';
import type { AcmeCertificate, AcmeStore, Order } from './store.js';

export interface RecoveryDeps {
  readonly store: AcmeStore;
  /** The issuing CA, to chain a recovered certificate the way finalize would have. */
  readonly issuer: Pick<Issuer, 'issuerKeyId' | 'issuingCertificate'>;
  readonly now: () => number;
  readonly timeoutMs: number;
  readonly log: FastifyBaseLogger;
}

export type Recovery = 'not-stale' | 'completed' | 'ready-again' | 'settled-elsewhere';

/** The order as it is after settling it, if it was stale; the order itself otherwise. */
export async function settleStaleOrder(order: Order, deps: RecoveryDeps): Promise<Order> {
  const outcome = await settle(order, deps);
  if (outcome === 'not-stale') return order;
  return (await deps.store.order(order.id)) ?? order;
}

async function settle(order: Order, deps: RecoveryDeps): Promise<Recovery> {
  if (order.status !== 'processing' || order.processingSince === null) return 'not-stale';
  const staleBefore = deps.now() - deps.timeoutMs;
  if (order.processingSince >= staleBefore) return 'not-stale';

  const found = await deps.store.ledgerCertificateOfOrder(order.id, order.accountId);
  if (found !== null) {
    const der = Buffer.from(found.derBase64, 'base64');
    // A CA rotated in between would chain wrongly; the leaf alone still serves the client.
    const chain = found.issuerKeyId === deps.issuer.issuerKeyId ? toPem(der) + toPem(deps.issuer.issuingCertificate) : toPem(der);
    const cert: AcmeCertificate = {
      serial: found.serial,
      orderId: order.id,
      accountId: order.accountId,
      chainPem: chain,
      identifiers: order.identifiers,
      notBefore: found.notBefore,
      notAfter: found.notAfter,
    };
    if (!(await deps.store.completeFinalize(cert, staleBefore))) return 'settled-elsewhere';
    deps.log.warn(
      { order: order.id, serial: found.serial },
      'ACME order left processing by an interrupted finalize: completed with the certificate the ledger holds for it',
    );
    return 'completed';
  }
  if (!(await deps.store.resetStaleFinalize(order.id, staleBefore))) return 'settled-elsewhere';
  deps.log.warn({ order: order.id }, 'ACME order left processing by an interrupted finalize: nothing was issued, the order is ready again');
  return 'ready-again';
}
