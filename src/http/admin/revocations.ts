// Operators revoke here (or with `workload-ca revoke`, which calls this): by serial, by exact
// SPIFFE ID, by SPIFFE ID prefix, by requester (everything one EST gateway, token subject or
// workload obtained), or by ACME binding or EAB key. Revocations go through the ACME store, whose
// wrapper publishes each to every replica, so there is one write path and one publishing path;
// each request that revokes anything is one revocation event in the ledger (read them back with
// GET /v1/admin/revocations, in the inventory API).

import type { FastifyInstance } from 'fastify';
import type { AcmeStore } from '../acme/store.js';
import type { LedgerReader } from '../../ledger/inventory.js';
import { REQUESTER_KINDS, type RequesterKind } from '../../revocation/event.js';
import { REVOCATION_REASONS, operatorDryRun, operatorRevoke, type OperatorRevocation, type Selector } from '../../revocation/operator.js';
import { BINDING_RE, EAB_KEY_ID_RE } from '../acme/eab.js';
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
  requester?: { kind: RequesterKind; id: string };
  eabBinding?: string;
  eabKeyId?: string;
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
    // As the inventory shows them: requester_kind and requester_id (an EST gateway is `name@label`).
    requester: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'id'],
      properties: { kind: { enum: [...REQUESTER_KINDS] }, id: { type: 'string', minLength: 1, maxLength: 2048 } },
    },
    eabBinding: { type: 'string', pattern: BINDING_RE.source },
    eabKeyId: { type: 'string', pattern: EAB_KEY_ID_RE.source },
    reason: { type: 'integer', enum: [...REVOCATION_REASONS], default: 0 },
    requestedBy: { type: 'string', minLength: 1, maxLength: 256 },
    dryRun: { type: 'boolean', default: false },
  },
} as const;

export const SELECTOR_FIELDS = ['serial', 'spiffeId', 'spiffeIdPrefix', 'requester', 'eabBinding', 'eabKeyId'] as const;

function selectorOf(b: Body): Selector | null {
  const given = SELECTOR_FIELDS.filter((f) => b[f] !== undefined);
  if (given.length !== 1) return null;
  if (b.serial !== undefined) return { serial: b.serial };
  if (b.spiffeId !== undefined) return { spiffeId: b.spiffeId };
  if (b.spiffeIdPrefix !== undefined) return { spiffeIdPrefix: b.spiffeIdPrefix };
  if (b.requester !== undefined) return { requester: { kind: b.requester.kind, id: b.requester.id } };
  if (b.eabBinding !== undefined) return { eabBinding: b.eabBinding };
  return { eabKeyId: b.eabKeyId! };
}

export async function revocationsApi(app: FastifyInstance, deps: RevocationDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  app.addHook('onRequest', adminGuard(deps.adminToken));
  app.post<{ Body: Body }>(
    '/v1/admin/revocations',
    {
      schema: {
        summary: 'Revoke the live certificates one selector names: a serial, a SPIFFE ID or prefix, a requester, an ACME binding or EAB key',
        security: [{ adminToken: [] }],
        body,
      },
    },
    async (req, reply) => {
      const selector = selectorOf(req.body);
      if (selector === null) {
        return sendProblem(reply, problem('malformed-request', `give exactly one of ${SELECTOR_FIELDS.join(', ')}`));
      }
      const revocation: OperatorRevocation = {
        selector,
        reason: req.body.reason,
        revokedBy: { kind: 'operator', via: 'admin-api', requestedBy: req.body.requestedBy ?? null, client: req.ip },
      };
      const operator = { store: deps.store, reader: deps.reader, revocations: deps.revocations, now: now() };
      return req.body.dryRun ? operatorDryRun(operator, revocation, req.log) : operatorRevoke(operator, revocation, req.log);
    },
  );
}
