// The shape check an event must pass before the ledger takes it. The worker trusts nothing it
// reads from Redis: an event that fails here goes to the dead-letter table with the reason.

import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { AuditEvent } from './event.js';
import { REFUSAL_CODES } from '../policy/types.js';

const str = { type: 'string', minLength: 1 } as const;
const strings = { type: 'array', items: { type: 'string' } } as const;
const time = { type: 'string', format: 'date-time' } as const;
const base = {
  v: { const: 1 },
  id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
  path: { enum: ['api', 'acme', 'est'] },
  requester: { type: 'object', required: ['kind'], properties: { kind: { enum: ['token', 'svid', 'acme-account', 'est-client', 'unverified'] } } },
  policyHash: str,
  rule: str,
  csrSha256: { anyOf: [{ type: 'string', pattern: '^[0-9a-f]{64}$' }, { type: 'null' }] },
  at: time,
} as const;

const schema = {
  oneOf: [
    {
      type: 'object',
      required: [
        'v',
        'kind',
        'id',
        'path',
        'requester',
        'policyHash',
        'rule',
        'csrSha256',
        'at',
        'serial',
        'issuerKeyId',
        'spiffeId',
        'dnsNames',
        'ipAddresses',
        'notBefore',
        'notAfter',
        'certificate',
      ],
      properties: {
        ...base,
        kind: { const: 'issued' },
        csrSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        serial: { type: 'string', pattern: '^[0-9a-f]{1,40}$' },
        issuerKeyId: { type: 'string', pattern: '^[0-9a-f]+$' },
        spiffeId: { type: 'string', pattern: '^spiffe://' },
        dnsNames: strings,
        ipAddresses: strings,
        notBefore: time,
        notAfter: time,
        certificate: { type: 'string', pattern: '^[A-Za-z0-9+/]+=*$' },
        capped: { enum: ['issuing-ca-expiry'] },
      },
    },
    {
      type: 'object',
      required: ['v', 'kind', 'id', 'path', 'requester', 'policyHash', 'rule', 'csrSha256', 'at', 'code', 'reason', 'requestedSpiffeId'],
      properties: {
        ...base,
        kind: { const: 'denied' },
        code: { enum: REFUSAL_CODES },
        reason: { type: 'string' },
        requestedSpiffeId: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        client: { anyOf: [{ type: 'string', maxLength: 128 }, { type: 'null' }] },
        repeats: { type: 'integer', minimum: 1 },
      },
    },
  ],
} as const;

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module namespace.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const validator = addFormats(new Ajv({ allErrors: false })).compile(schema);

export type Checked = { ok: true; event: AuditEvent } | { ok: false; reason: string };

export function checkEvent(value: unknown): Checked {
  if (validator(value)) return { ok: true, event: value as AuditEvent };
  const e = validator.errors?.[0];
  return { ok: false, reason: `malformed audit event: ${e ? `${e.instancePath || '/'} ${e.message}` : 'invalid'}` };
}
