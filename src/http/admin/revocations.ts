// Operators revoke here (or with `workload-ca revoke`, which calls this): by serial, by exact
// SPIFFE ID, or by SPIFFE ID prefix. Revocations go through the ACME store, whose wrapper
// publishes each to every replica, so there is one write path and one publishing path.

import type { FastifyInstance } from 'fastify';
import type { AcmeStore } from '../acme/store.js';
import type { LedgerReader } from '../../ledger/inventory.js';
import { REVOCATION_REASONS, revokeTargets, selectTargets, type Selector } from '../../revocation/operator.js';
import type { RevocationCheck } from '../../revocation/set.js';
import { problem, sendProblem } from '../problem.js';
import { adminGuard } from './auth.js';

export interface RevocationDeps {
  readonly store: AcmeStore;
  readonly reader: LedgerReader;
  readonly revocations: RevocationCheck;
  readonly adminToken: string | null;
  readonly now?: () => number;
}

interface Body {
  serial?: string;
  spiffeId?: string;
  spiffeIdPrefix?: string;
  reason: number;
  requestedBy?: string;
  dryRun: boolean;
}

const body = {
  type: 'object',
  additionalProperties: false,
  properties: {
    serial: { type: 'string', pattern: '^[0-9a-fA-F]{1,40}$' },
    spiffeId: { type: 'string', pattern: '^spiffe://[^/]+/.+$', maxLength: 2048 },
    // Ends with '/': a prefix names whole path segments, so ns/pay never takes ns/payments with it.
    spiffeIdPrefix: { type: 'string', pattern: '^spiffe://[^/]+/(.*/)?$', maxLength: 2048 },
    reason: { type: 'integer', enum: [...REVOCATION_REASONS], default: 0 },
    requestedBy: { type: 'string', minLength: 1, maxLength: 256 },
    dryRun: { type: 'boolean', default: false },
  },
} as const;

function selectorOf(b: Body): Selector | null {
  const given = [b.serial, b.spiffeId, b.spiffeIdPrefix].filter((v) => v !== undefined).length;
  if (given !== 1) return null;
  if (b.serial !== undefined) return { serial: b.serial };
  if (b.spiffeId !== undefined) return { spiffeId: b.spiffeId };
  return { spiffeIdPrefix: b.spiffeIdPrefix! };
}

export async function revocationsApi(app: FastifyInstance, deps: RevocationDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  app.addHook('onRequest', adminGuard(deps.adminToken));
  app.post<{ Body: Body }>(
    '/v1/admin/revocations',
    {
      schema: {
        summary: 'Revoke the live certificates one selector names: a serial, a SPIFFE ID, or a SPIFFE ID prefix',
        security: [{ adminToken: [] }],
        body,
      },
    },
    async (req, reply) => {
      const selector = selectorOf(req.body);
      if (selector === null) {
        return sendProblem(reply, problem('malformed-request', 'give exactly one of serial, spiffeId, spiffeIdPrefix'));
      }
      const { reason, dryRun } = req.body;
      const note = req.body.requestedBy ?? null;
      const targets = await selectTargets(deps.reader, deps.revocations, selector, now());
      if (dryRun) {
        req.log.info({ selector, reason, count: targets.length }, 'operator revocation dry run: nothing revoked');
        return { dryRun: true, revoked: 0, wouldRevoke: targets.length, serials: targets.map((t) => t.serial) };
      }
      const outcomes = await revokeTargets(deps.store, targets, reason, note);
      for (const o of outcomes) {
        req.log.info(
          { serial: o.target.serial, spiffeId: o.target.spiffeId, reason, requestedBy: note, revoked: o.revoked },
          o.revoked ? 'certificate revoked by operator' : 'certificate already revoked',
        );
      }
      const serials = outcomes.filter((o) => o.revoked).map((o) => o.target.serial);
      return { dryRun: false, revoked: serials.length, serials };
    },
  );
}
