// Operators create ACME external-account-binding keys here (or with `workload-ca acme eab create`,
// which calls this in the embedded mode): one key id and HMAC key per binding, shown once.
// Revoking a key stops it binding new accounts; optionally it also revokes the accounts it bound
// (ACME then refuses them) and the live certificates they obtained, as one revocation event.

import type { FastifyInstance } from 'fastify';
import type { LedgerReader } from '../../ledger/inventory.js';
import { REVOCATION_REASONS, operatorRevoke, type RevokeOutcome } from '../../revocation/operator.js';
import type { RevocationCheck } from '../../revocation/set.js';
import { forgetAccount } from '../acme/authenticate.js';
import { BINDING_RE, EAB_KEY_ID_RE, newEabKey } from '../acme/eab.js';
import type { AcmeStore } from '../acme/store.js';
import { problem, sendProblem } from '../problem.js';
import { adminGuard } from './auth.js';

export interface EabKeyDeps {
  readonly store: AcmeStore;
  /** What revoking the accounts' certificates selects from and checks against. */
  readonly reader: LedgerReader;
  readonly revocations: RevocationCheck;
  readonly adminToken: string | null;
  readonly now?: () => number;
}

interface RevokeKeyBody {
  deactivateAccounts: boolean;
  revokeCertificates: boolean;
  reason: number;
  requestedBy?: string;
}

export interface EabKeyRevocation {
  readonly keyId: string;
  /** The accounts this request moved to `revoked`. */
  readonly deactivatedAccounts: string[];
  /** Present when the certificates were revoked too. */
  readonly certificates?: RevokeOutcome;
}

export async function eabKeysApi(app: FastifyInstance, deps: EabKeyDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  app.addHook('onRequest', adminGuard(deps.adminToken));
  app.post<{ Body: { binding: string } }>(
    '/v1/admin/acme/eab-keys',
    {
      schema: {
        summary: 'Create an ACME external account binding key',
        security: [{ adminToken: [] }],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['binding'],
          properties: { binding: { type: 'string', pattern: BINDING_RE.source } },
        },
      },
    },
    async (req, reply) => {
      const key = newEabKey(req.body.binding);
      await deps.store.createEabKey(key);
      return reply.code(201).send({ keyId: key.keyId, hmacKey: key.hmacKey, binding: key.binding });
    },
  );
  app.delete<{ Params: { keyId: string }; Body: RevokeKeyBody }>(
    '/v1/admin/acme/eab-keys/:keyId',
    {
      // The body is optional: a DELETE without one only revokes the key (the defaults below).
      preValidation: async (req) => {
        if (req.body === undefined) req.body = {} as RevokeKeyBody;
      },
      schema: {
        summary: 'Revoke an ACME external account binding key: it binds no new accounts; optionally revoke its accounts and their certificates',
        security: [{ adminToken: [] }],
        params: { type: 'object', properties: { keyId: { type: 'string', pattern: EAB_KEY_ID_RE.source } } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            deactivateAccounts: { type: 'boolean', default: false },
            revokeCertificates: { type: 'boolean', default: false },
            reason: { type: 'integer', enum: [...REVOCATION_REASONS], default: 0 },
            requestedBy: { type: 'string', minLength: 1, maxLength: 256 },
          },
        },
      },
    },
    async (req, reply) => {
      const keyId = req.params.keyId;
      const body = req.body;
      const requestedBy = body.requestedBy ?? null;
      // Certificates revoked while their accounts may order new ones would protect nothing.
      if (body.revokeCertificates && !body.deactivateAccounts) {
        return sendProblem(
          reply,
          problem('malformed-request', 'revokeCertificates needs deactivateAccounts: the accounts would order new certificates'),
        );
      }
      // Each step is idempotent, so a request cut short is finished by sending it again.
      if (!(await deps.store.revokeEabKey(keyId))) {
        return sendProblem(reply, problem('not-found', `no EAB key ${keyId}`));
      }
      req.log.info({ eabKeyId: keyId, requestedBy }, 'EAB key revoked: it binds no new accounts');
      if (!body.deactivateAccounts) return reply.code(204).send();

      const deactivatedAccounts = await deps.store.revokeAccountsOfEabKey(keyId);
      for (const accountId of deactivatedAccounts) {
        // This process at once; other replicas within their account cache's second.
        forgetAccount(accountId);
        req.log.info({ eabKeyId: keyId, accountId, requestedBy }, 'ACME account revoked with its EAB key');
      }
      const answer: EabKeyRevocation = { keyId, deactivatedAccounts };
      if (!body.revokeCertificates) return answer;
      const certificates = await operatorRevoke(
        { store: deps.store, reader: deps.reader, revocations: deps.revocations, now: now() },
        {
          selector: { eabKeyId: keyId },
          reason: body.reason,
          revokedBy: { kind: 'operator', via: 'admin-api', requestedBy, client: req.ip },
        },
        req.log,
      );
      return { ...answer, certificates } satisfies EabKeyRevocation;
    },
  );
}
