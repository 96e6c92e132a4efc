// The inventory API for operators and incident responders: which workloads hold certificates,
// and what was refused. Authenticated with the admin bearer credential; never open.

import type { FastifyInstance, FastifyReply } from 'fastify';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import {
  CERTIFICATE_STATUSES,
  InvalidCursor,
  type CertificateFilter,
  type CertificateStatus,
  type GroupBy,
  type LedgerReader,
} from '../../ledger/inventory.js';
import { REQUESTER_KINDS } from '../../revocation/event.js';
import { BINDING_RE, EAB_KEY_ID_RE } from '../acme/eab.js';
import { toPem } from '../../pki/certificate.js';
import { problem, sendProblem } from '../problem.js';
import { adminGuard } from './auth.js';

export interface InventoryDeps {
  readonly reader: LedgerReader;
  /** null: no credential configured, so every request is refused. */
  readonly adminToken: string | null;
}

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module namespace.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const time = { type: 'string', format: 'date-time' } as const;
const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    spiffe_id: { type: 'string', minLength: 1 },
    spiffe_id_prefix: { type: 'string', minLength: 1 },
    path: { enum: ['api', 'acme', 'est'] },
    issued_after: time,
    issued_before: time,
    expires_after: time,
    expires_before: time,
    // live: unexpired and not revoked; revoked: revoked, expired since or not; expired: the rest.
    status: { enum: [...CERTIFICATE_STATUSES] },
    requester_kind: { enum: [...REQUESTER_KINDS] },
    requester_id: { type: 'string', minLength: 1, maxLength: 2048 },
    acme_binding: { type: 'string', pattern: BINDING_RE.source },
    eab_key_id: { type: 'string', pattern: EAB_KEY_ID_RE.source },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', maxLength: 512 },
  },
} as const;

interface ListQuery {
  spiffe_id?: string;
  spiffe_id_prefix?: string;
  path?: CertificateFilter['path'];
  issued_after?: string;
  issued_before?: string;
  expires_after?: string;
  expires_before?: string;
  status?: CertificateStatus;
  requester_kind?: string;
  requester_id?: string;
  acme_binding?: string;
  eab_key_id?: string;
  limit: number;
  cursor?: string;
}

export async function inventoryApi(app: FastifyInstance, deps: InventoryDeps): Promise<void> {
  // Query strings carry numbers as text; this scope alone coerces (request bodies elsewhere never do).
  const ajv = addFormats(new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false }));
  app.setValidatorCompiler(({ schema }) => {
    const validate = ajv.compile(schema);
    return (data) =>
      validate(data)
        ? { value: data }
        : { error: Object.assign(new Error(ajv.errorsText(validate.errors, { dataVar: 'query' })), { validation: validate.errors }) };
  });

  app.addHook('onRequest', adminGuard(deps.adminToken));

  const guard = async <T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T | FastifyReply> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof InvalidCursor) return sendProblem(reply, problem('malformed-request', err.message));
      throw err;
    }
  };

  app.get<{ Querystring: ListQuery }>(
    '/v1/admin/certificates',
    { schema: { summary: 'List certificates in the ledger', security: [{ adminToken: [] }], querystring: listQuery } },
    (req, reply) =>
      guard(reply, () => {
        const q = req.query;
        if (q.spiffe_id !== undefined && q.spiffe_id_prefix !== undefined) {
          return Promise.resolve(sendProblem(reply, problem('malformed-request', 'give spiffe_id or spiffe_id_prefix, not both')));
        }
        const filter: CertificateFilter = {
          limit: q.limit,
          ...(q.spiffe_id !== undefined && { spiffeId: q.spiffe_id }),
          ...(q.spiffe_id_prefix !== undefined && { spiffeIdPrefix: q.spiffe_id_prefix }),
          ...(q.path !== undefined && { path: q.path }),
          ...(q.issued_after !== undefined && { issuedAfter: q.issued_after }),
          ...(q.issued_before !== undefined && { issuedBefore: q.issued_before }),
          ...(q.expires_after !== undefined && { expiresAfter: q.expires_after }),
          ...(q.expires_before !== undefined && { expiresBefore: q.expires_before }),
          ...(q.status !== undefined && { status: q.status }),
          ...(q.requester_kind !== undefined && { requesterKind: q.requester_kind }),
          ...(q.requester_id !== undefined && { requesterId: q.requester_id }),
          ...(q.acme_binding !== undefined && { acmeBinding: q.acme_binding }),
          ...(q.eab_key_id !== undefined && { eabKeyId: q.eab_key_id }),
          ...(q.cursor !== undefined && { cursor: q.cursor }),
        };
        return deps.reader.listCertificates(filter);
      }),
  );

  app.get<{ Params: { serial: string } }>(
    '/v1/admin/certificates/:serial',
    {
      schema: {
        summary: 'One certificate by serial, with its DER',
        security: [{ adminToken: [] }],
        params: { type: 'object', properties: { serial: { type: 'string', pattern: '^[0-9a-fA-F]{1,40}$' } } },
      },
    },
    async (req, reply) => {
      const rows = await deps.reader.getCertificate(req.params.serial.toLowerCase());
      if (rows.length === 0) return sendProblem(reply, problem('not-found', `no certificate with serial ${req.params.serial}`));
      // Serials are 128 random bits; more than one row would mean two issuing keys drew the same.
      return rows.map((r) => ({ ...r, certificate_pem: toPem(Buffer.from(r.certificate, 'base64')) }));
    },
  );

  app.get<{ Querystring: { group_by: GroupBy; depth: number } }>(
    '/v1/admin/stats/live',
    {
      schema: {
        summary: 'Counts of live certificates per trust domain, path or SPIFFE ID prefix',
        security: [{ adminToken: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            group_by: { enum: ['trust_domain', 'path', 'spiffe_id_prefix'], default: 'trust_domain' },
            depth: { type: 'integer', minimum: 0, maximum: 16, default: 1 },
          },
        },
      },
    },
    async (req) => ({ group_by: req.query.group_by, groups: await deps.reader.liveCounts(req.query.group_by, req.query.depth) }),
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/v1/admin/denials',
    {
      schema: {
        summary: 'Recent refusals, newest first',
        security: [{ adminToken: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, cursor: { type: 'string', maxLength: 512 } },
        },
      },
    },
    (req, reply) => guard(reply, () => deps.reader.recentDenials(req.query.limit, req.query.cursor)),
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/v1/admin/revocations',
    {
      schema: {
        summary: 'Revocation events, newest first: who revoked, when, why, by which selector, how many certificates',
        security: [{ adminToken: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, cursor: { type: 'string', maxLength: 512 } },
        },
      },
    },
    (req, reply) => guard(reply, () => deps.reader.revocationEvents(req.query.limit, req.query.cursor)),
  );

  app.get<{ Params: { eventId: string } }>(
    '/v1/admin/revocations/:eventId',
    {
      schema: {
        summary: 'One revocation event with the certificates it revoked',
        security: [{ adminToken: [] }],
        params: {
          type: 'object',
          properties: { eventId: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' } },
        },
      },
    },
    async (req, reply) => {
      const event = await deps.reader.revocationEvent(req.params.eventId);
      if (event === null) return sendProblem(reply, problem('not-found', `no revocation event ${req.params.eventId}`));
      return event;
    },
  );
}
