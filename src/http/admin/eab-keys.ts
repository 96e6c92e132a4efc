// Operators create ACME external-account-binding keys here (or with `workload-ca acme eab create`,
// which calls this in the embedded mode): one key id and HMAC key per binding, shown once.

import type { FastifyInstance } from 'fastify';
import { BINDING_RE, newEabKey } from '../acme/eab.js';
import type { AcmeStore } from '../acme/store.js';
import { problem, sendProblem } from '../problem.js';
import { adminGuard } from './auth.js';

export interface EabKeyDeps {
  readonly store: AcmeStore;
  readonly adminToken: string | null;
}

export async function eabKeysApi(app: FastifyInstance, deps: EabKeyDeps): Promise<void> {
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
  app.delete<{ Params: { keyId: string } }>(
    '/v1/admin/acme/eab-keys/:keyId',
    {
      schema: {
        summary: 'Revoke an ACME external account binding key: it binds no new accounts',
        security: [{ adminToken: [] }],
        params: { type: 'object', properties: { keyId: { type: 'string', pattern: '^eab_[A-Za-z0-9_-]{1,64}$' } } },
      },
    },
    async (req, reply) => {
      if (!(await deps.store.revokeEabKey(req.params.keyId))) {
        return sendProblem(reply, problem('not-found', `no EAB key ${req.params.keyId}`));
      }
      return reply.code(204).send();
    },
  );
}
