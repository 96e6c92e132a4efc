// The shape of the policy document, as JSON Schema (draft-07, for ajv with allErrors).
//
// The schema checks shape only. What needs more than one value to judge (a rule widening the
// guardrails, a template naming a claim its requester cannot have, duplicate rule names) is
// checked by document.ts once the shape is right, and reported the same way.
//
// `x-expect` completes "must be …" in problem messages, where ajv's own text would show a regex.

import { DURATION_HINT, DURATION_PATTERN } from './duration.js';
import { ENROLLMENT_PATHS, EST_AUTH_KINDS, KEY_ALGORITHMS } from './types.js';

/** The document as the schema admits it, before any semantic check. */
export interface PolicyDocument {
  readonly version: 1;
  readonly guardrails: {
    readonly trustDomain: string;
    readonly keyAlgorithms?: readonly string[];
    readonly maxLifetime?: number | string;
  };
  readonly rules: readonly RuleDocument[];
}

export interface RuleDocument {
  readonly name: string;
  readonly match: {
    readonly paths?: readonly string[];
    readonly token?: { readonly issuer: string; readonly claims?: Readonly<Record<string, string | readonly string[]>> };
    readonly svid?: { readonly spiffeId: string };
    readonly acme?: { readonly binding?: string };
    readonly est?: {
      readonly label?: string;
      readonly name?: string;
      readonly auth?: readonly string[];
      readonly spiffeId?: string;
      readonly subject?: string;
      readonly san?: string;
    };
  };
  readonly grant: {
    readonly spiffeId: string;
    readonly dnsNames?: readonly string[];
    readonly ipAddresses?: readonly string[];
    readonly keyAlgorithms?: readonly string[];
    readonly defaultLifetime?: number | string;
    readonly maxLifetime?: number | string;
    readonly crlDistributionPoint?: boolean;
  };
}

export const REQUESTER_MATCHERS = ['token', 'svid', 'acme', 'est'] as const;

const duration = {
  type: ['integer', 'string'],
  minimum: 1,
  pattern: DURATION_PATTERN,
  'x-expect': DURATION_HINT,
};

const nonEmptyString = { type: 'string', minLength: 1, 'x-expect': 'a non-empty string' };

const glob = {
  type: 'string',
  minLength: 1,
  maxLength: 2048,
  'x-expect': 'a non-empty glob ("*" matches any run of characters)',
};

const keyAlgorithms = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { enum: [...KEY_ALGORITHMS] },
};

export const POLICY_SCHEMA = {
  $id: 'https://workload-ca/policy.schema.json',
  type: 'object',
  required: ['version', 'guardrails', 'rules'],
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    guardrails: {
      type: 'object',
      required: ['trustDomain'],
      additionalProperties: false,
      properties: {
        trustDomain: {
          type: 'string',
          minLength: 1,
          maxLength: 255,
          pattern: '^[a-z0-9._-]+$',
          'x-expect': 'a SPIFFE trust domain: lower-case letters, digits, ".", "-" and "_" (no scheme, no path)',
        },
        keyAlgorithms,
        maxLifetime: duration,
      },
    },
    rules: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'match', 'grant'],
        additionalProperties: false,
        properties: {
          name: {
            type: 'string',
            minLength: 1,
            maxLength: 63,
            pattern: '^[a-z0-9-]+$',
            'x-expect': 'a rule name of lower-case letters, digits and "-"',
          },
          match: {
            type: 'object',
            additionalProperties: false,
            properties: {
              paths: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...ENROLLMENT_PATHS] } },
              token: {
                type: 'object',
                required: ['issuer'],
                additionalProperties: false,
                properties: {
                  issuer: nonEmptyString,
                  claims: {
                    type: 'object',
                    additionalProperties: {
                      anyOf: [glob, { type: 'array', minItems: 1, items: glob }],
                      'x-expect': 'a glob or a non-empty list of globs',
                    },
                  },
                },
              },
              svid: {
                type: 'object',
                required: ['spiffeId'],
                additionalProperties: false,
                properties: { spiffeId: glob },
              },
              acme: {
                type: 'object',
                additionalProperties: false,
                properties: { binding: glob },
              },
              est: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  label: glob,
                  name: glob,
                  auth: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: EST_AUTH_KINDS.filter((k) => k !== 'none') } },
                  spiffeId: glob,
                  subject: glob,
                  san: glob,
                },
              },
            },
          },
          grant: {
            type: 'object',
            required: ['spiffeId'],
            additionalProperties: false,
            properties: {
              spiffeId: { ...nonEmptyString, maxLength: 2048 },
              dnsNames: { type: 'array', uniqueItems: true, items: nonEmptyString },
              ipAddresses: { type: 'array', uniqueItems: true, items: nonEmptyString },
              keyAlgorithms,
              defaultLifetime: duration,
              maxLifetime: duration,
              crlDistributionPoint: { type: 'boolean', 'x-expect': 'true or false' },
            },
          },
        },
      },
    },
  },
} as const;
