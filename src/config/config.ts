// One configuration schema for the file and the environment. The file (YAML, optional) is read
// first; environment variables override single settings, which is what containers need.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve, join } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';

export interface TokenIssuerConfig {
  /** Expected `iss`. */
  readonly issuer: string;
  /** Accepted `aud` values; a token must carry at least one. */
  readonly audiences: readonly string[];
  /** Exactly one of these: a JWKS document on disk, or a JWKS URL fetched and cached. */
  readonly jwksFile?: string;
  readonly jwksUrl?: string;
  /** Longest token lifetime (exp minus iat, else nbf, else now) accepted from this issuer. */
  readonly maxTokenLifetimeSeconds: number;
}

/** Default cap on a token's lifetime: Kubernetes projected tokens live an hour, so a day refuses nothing legitimate. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

export interface Config {
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly trustDomain: string;
  /** Processes serving HTTPS; 1 runs everything in one process. */
  readonly workers: number;
  readonly policyFile: string;
  readonly ca: {
    readonly rootCert: string;
    readonly issuingCert: string;
    readonly issuingKey: string;
    readonly passphrase?: string;
  };
  readonly tls: {
    readonly cert: string;
    readonly key: string;
    readonly dnsNames: readonly string[];
    readonly ipAddresses: readonly string[];
    /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 keeps OpenSSL's AEAD suites). */
    readonly ciphers: string;
  };
  readonly connections: ConnectionsConfig;
  readonly tokenIssuers: readonly TokenIssuerConfig[];
  /** Development token issuer (the `token` command); absent in production. */
  readonly devTokenIssuer: { readonly issuer: string; readonly audience: string; readonly dir: string; readonly maxTokenLifetimeSeconds: number } | null;
  readonly limits: { readonly bodyBytes: number };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  readonly databaseUrl: string | null;
  readonly redisUrl: string | null;
  /** Prefix of every Redis key, so several deployments or test runs can share one Redis. */
  readonly redisPrefix: string;
  /**
   * Bearer credential for the inventory API: the value itself (WORKLOAD_CA_ADMIN_TOKEN) or a file
   * read at start. With neither, the inventory API refuses every request (it is never open).
   */
  readonly admin: { readonly token: string | null; readonly tokenFile: string | null };
  readonly worker: { readonly concurrency: number; readonly metricsHost: string; readonly metricsPort: number };
  readonly est: EstConfig;
  readonly acme: AcmeConfig;
}

export interface AcmeConfig {
  /** Whether newAccount needs an external account binding (the binding is what the policy matches). */
  readonly externalAccountRequired: boolean;
  readonly termsOfService: string | null;
  /** The base URL clients use (behind a load balancer); otherwise built from the request's Host. */
  readonly publicUrl: string | null;
  readonly validation: {
    readonly http01Port: number;
    readonly tlsAlpn01Port: number;
    /** "host:port" of the DNS server validation resolves names with; null for the system's. */
    readonly resolver: string | null;
    readonly timeoutMs: number;
    /** CIDRs validation may connect to; empty: any not denied, loopback excepted (see acme/validation/networks.ts). */
    readonly allowedNetworks: readonly string[];
    /** CIDRs validation never connects to, on top of the built-in link-local, metadata, multicast, unspecified. */
    readonly deniedNetworks: readonly string[];
    readonly maxRedirects: number;
    readonly maxResponseBytes: number;
  };
  /** How long a valid authorization is reused for new orders of the same account. */
  readonly authorizationReuseSeconds: number;
  readonly orderLifetimeSeconds: number;
  readonly nonceLifetimeSeconds: number;
  /**
   * How long an order may stay `processing` before a poll settles it (its finalizing replica died):
   * longer than a finalize takes and than the ledger takes to record an issued certificate.
   */
  readonly finalizeTimeoutSeconds: number;
  readonly rateLimits: { readonly newOrdersPerHour: number; readonly failedValidationsPerHour: number };
}

/** How long the HTTPS listener lets a client take at each stage of a connection. */
export interface ConnectionsConfig {
  /** From accept to a finished TLS handshake. */
  readonly handshakeTimeoutMs: number;
  /** From the start of a request (or of the connection, for its first) to its last header. */
  readonly headersTimeoutMs: number;
  /** From the start of a request to its last body byte. */
  readonly requestTimeoutMs: number;
  /** Idle time allowed between requests on a kept-alive connection. */
  readonly keepAliveTimeoutMs: number;
  /** How often the headers and request limits are enforced (Node sweeps; it has no timer per connection). */
  readonly checkIntervalMs: number;
}

/** OpenSSL names: ECDHE with AEAD only (see http/listener-options.ts for why). */
export const DEFAULT_TLS_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:' +
  'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305';

/** EST (RFC 7030): which labels exist and which client certificates each one trusts. */
export interface EstConfig {
  /** HTTP Basic bootstrap credentials, scrypt-hashed (`workload-ca est user add`). */
  readonly usersFile: string;
  /** PEM files of CAs whose client certificates authenticate on /.well-known/est/ (no label). */
  readonly trustAnchors: readonly string[];
  /** The unlabeled path's trustRegistrationAuthorities (see labels). */
  readonly trustRegistrationAuthorities: boolean;
  /**
   * Label name to its own trust anchors; only configured labels exist. With
   * trustRegistrationAuthorities, a client certificate carrying id-kp-cmcRA that authenticates
   * on the label is an RA (RFC 7030 §3.7): the CSRs it forwards skip the channel-binding check.
   */
  readonly labels: Readonly<Record<string, { readonly trustAnchors: readonly string[]; readonly trustRegistrationAuthorities: boolean }>>;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen: {
      type: 'object',
      additionalProperties: false,
      properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
    },
    dataDir: { type: 'string', minLength: 1 },
    trustDomain: { type: 'string', pattern: '^[a-z0-9._-]+$', maxLength: 255 },
    workers: { anyOf: [{ type: 'integer', minimum: 1, maximum: 256 }, { const: 'auto' }] },
    policyFile: { type: 'string', minLength: 1 },
    ca: {
      type: 'object',
      additionalProperties: false,
      properties: {
        rootCert: { type: 'string' },
        issuingCert: { type: 'string' },
        issuingKey: { type: 'string' },
        passphraseFile: { type: 'string' },
      },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cert: { type: 'string' },
        key: { type: 'string' },
        dnsNames: { type: 'array', items: { type: 'string' } },
        ipAddresses: { type: 'array', items: { type: 'string' } },
        ciphers: { type: 'string', pattern: '^[A-Za-z0-9_+!:@=.-]+$' },
      },
    },
    connections: {
      type: 'object',
      additionalProperties: false,
      properties: {
        handshakeTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000 },
        headersTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000 },
        requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 3600000 },
        keepAliveTimeoutMs: { type: 'integer', minimum: 100, maximum: 3600000 },
        checkIntervalMs: { type: 'integer', minimum: 50, maximum: 60000 },
      },
    },
    tokenIssuers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['issuer', 'audiences'],
        properties: {
          issuer: { type: 'string', minLength: 1 },
          audiences: { type: 'array', minItems: 1, items: { type: 'string' } },
          jwksFile: { type: 'string' },
          jwksUrl: { type: 'string', pattern: '^https?://' },
          maxTokenLifetimeSeconds: { type: 'integer', minimum: 60 },
        },
        oneOf: [{ required: ['jwksFile'] }, { required: ['jwksUrl'] }],
      },
    },
    // `true`, or an object (which also means on) carrying the development issuer's own cap.
    devTokenIssuer: {
      anyOf: [
        { type: 'boolean' },
        { type: 'object', additionalProperties: false, properties: { maxTokenLifetimeSeconds: { type: 'integer', minimum: 60 } } },
      ],
    },
    limits: { type: 'object', additionalProperties: false, properties: { bodyBytes: { type: 'integer', minimum: 1024 } } },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] },
    databaseUrl: { type: 'string' },
    redisUrl: { type: 'string' },
    redisPrefix: { type: 'string', pattern: '^[A-Za-z0-9:_.-]+$' },
    adminTokenFile: { type: 'string' },
    worker: {
      type: 'object',
      additionalProperties: false,
      properties: {
        concurrency: { type: 'integer', minimum: 1, maximum: 256 },
        metricsHost: { type: 'string' },
        metricsPort: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    est: {
      type: 'object',
      additionalProperties: false,
      properties: {
        usersFile: { type: 'string', minLength: 1 },
        trustAnchors: { type: 'array', items: { type: 'string', minLength: 1 } },
        trustRegistrationAuthorities: { type: 'boolean' },
        labels: {
          type: 'object',
          // RFC 7030 §3.2.2: a label is one path segment.
          propertyNames: { pattern: '^[A-Za-z0-9_-]{1,64}$' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: {
              trustAnchors: { type: 'array', items: { type: 'string', minLength: 1 } },
              trustRegistrationAuthorities: { type: 'boolean' },
            },
          },
        },
      },
    },
    acme: {
      type: 'object',
      additionalProperties: false,
      properties: {
        externalAccountRequired: { type: 'boolean' },
        termsOfService: { type: 'string', pattern: '^https?://' },
        publicUrl: { type: 'string', pattern: '^https://[^/]+$' },
        validation: {
          type: 'object',
          additionalProperties: false,
          properties: {
            http01Port: { type: 'integer', minimum: 1, maximum: 65535 },
            tlsAlpn01Port: { type: 'integer', minimum: 1, maximum: 65535 },
            resolver: { type: 'string', pattern: '^[^\\s]+:\\d+$' },
            timeoutMs: { type: 'integer', minimum: 100, maximum: 120000 },
            // Shape only here; serve parses each entry and refuses to start on a bad one.
            allowedNetworks: { type: 'array', items: { type: 'string', pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' } },
            deniedNetworks: { type: 'array', items: { type: 'string', pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' } },
            maxRedirects: { type: 'integer', minimum: 0, maximum: 20 },
            maxResponseBytes: { type: 'integer', minimum: 128, maximum: 1048576 },
          },
        },
        authorizationReuseSeconds: { type: 'integer', minimum: 0 },
        orderLifetimeSeconds: { type: 'integer', minimum: 60 },
        nonceLifetimeSeconds: { type: 'integer', minimum: 10 },
        finalizeTimeoutSeconds: { type: 'integer', minimum: 10 },
        rateLimits: {
          type: 'object',
          additionalProperties: false,
          properties: {
            newOrdersPerHour: { type: 'integer', minimum: 1 },
            failedValidationsPerHour: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
  },
} as const;

/** Environment variables and the setting each one overrides. */
export const ENVIRONMENT: Readonly<Record<string, { path: string[]; type: 'string' | 'integer' | 'list' | 'boolean' }>> = {
  WORKLOAD_CA_HOST: { path: ['listen', 'host'], type: 'string' },
  WORKLOAD_CA_PORT: { path: ['listen', 'port'], type: 'integer' },
  WORKLOAD_CA_DATA_DIR: { path: ['dataDir'], type: 'string' },
  WORKLOAD_CA_TRUST_DOMAIN: { path: ['trustDomain'], type: 'string' },
  WORKLOAD_CA_WORKERS: { path: ['workers'], type: 'integer' },
  WORKLOAD_CA_POLICY_FILE: { path: ['policyFile'], type: 'string' },
  WORKLOAD_CA_KEY_PASSPHRASE_FILE: { path: ['ca', 'passphraseFile'], type: 'string' },
  WORKLOAD_CA_TLS_DNS_NAMES: { path: ['tls', 'dnsNames'], type: 'list' },
  WORKLOAD_CA_TLS_CIPHERS: { path: ['tls', 'ciphers'], type: 'string' },
  WORKLOAD_CA_TLS_HANDSHAKE_TIMEOUT_MS: { path: ['connections', 'handshakeTimeoutMs'], type: 'integer' },
  WORKLOAD_CA_HEADERS_TIMEOUT_MS: { path: ['connections', 'headersTimeoutMs'], type: 'integer' },
  WORKLOAD_CA_REQUEST_TIMEOUT_MS: { path: ['connections', 'requestTimeoutMs'], type: 'integer' },
  WORKLOAD_CA_KEEP_ALIVE_TIMEOUT_MS: { path: ['connections', 'keepAliveTimeoutMs'], type: 'integer' },
  WORKLOAD_CA_CONNECTIONS_CHECK_INTERVAL_MS: { path: ['connections', 'checkIntervalMs'], type: 'integer' },
  WORKLOAD_CA_DEV_TOKEN_ISSUER: { path: ['devTokenIssuer'], type: 'boolean' },
  WORKLOAD_CA_LOG_LEVEL: { path: ['logLevel'], type: 'string' },
  DATABASE_URL: { path: ['databaseUrl'], type: 'string' },
  REDIS_URL: { path: ['redisUrl'], type: 'string' },
  WORKLOAD_CA_REDIS_PREFIX: { path: ['redisPrefix'], type: 'string' },
  WORKLOAD_CA_ADMIN_TOKEN_FILE: { path: ['adminTokenFile'], type: 'string' },
  WORKLOAD_CA_WORKER_CONCURRENCY: { path: ['worker', 'concurrency'], type: 'integer' },
  WORKLOAD_CA_WORKER_METRICS_PORT: { path: ['worker', 'metricsPort'], type: 'integer' },
  WORKLOAD_CA_EST_USERS_FILE: { path: ['est', 'usersFile'], type: 'string' },
  WORKLOAD_CA_ACME_EAB_REQUIRED: { path: ['acme', 'externalAccountRequired'], type: 'boolean' },
  WORKLOAD_CA_ACME_TERMS_OF_SERVICE: { path: ['acme', 'termsOfService'], type: 'string' },
  WORKLOAD_CA_ACME_PUBLIC_URL: { path: ['acme', 'publicUrl'], type: 'string' },
  WORKLOAD_CA_ACME_HTTP01_PORT: { path: ['acme', 'validation', 'http01Port'], type: 'integer' },
  WORKLOAD_CA_ACME_TLSALPN01_PORT: { path: ['acme', 'validation', 'tlsAlpn01Port'], type: 'integer' },
  WORKLOAD_CA_ACME_RESOLVER: { path: ['acme', 'validation', 'resolver'], type: 'string' },
  WORKLOAD_CA_ACME_ALLOWED_NETWORKS: { path: ['acme', 'validation', 'allowedNetworks'], type: 'list' },
  WORKLOAD_CA_ACME_DENIED_NETWORKS: { path: ['acme', 'validation', 'deniedNetworks'], type: 'list' },
  WORKLOAD_CA_ACME_FINALIZE_TIMEOUT_SECONDS: { path: ['acme', 'finalizeTimeoutSeconds'], type: 'integer' },
  WORKLOAD_CA_ACME_NEW_ORDERS_PER_HOUR: { path: ['acme', 'rateLimits', 'newOrdersPerHour'], type: 'integer' },
  WORKLOAD_CA_ACME_FAILED_VALIDATIONS_PER_HOUR: { path: ['acme', 'rateLimits', 'failedValidationsPerHour'], type: 'integer' },
};

export const DEV_TOKEN_ISSUER = 'https://token-issuer.workload-ca.test';
export const DEV_TOKEN_AUDIENCE = 'workload-ca';

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

type Raw = Record<string, unknown>;

/** Reads WORKLOAD_CA_CONFIG (if set) and the environment; relative paths resolve against `cwd`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ConfigResult {
  let raw: Raw = {};
  const file = env.WORKLOAD_CA_CONFIG;
  if (file) {
    try {
      raw = (parseYaml(readFileSync(resolve(cwd, file), 'utf8')) as Raw | null) ?? {};
    } catch (err) {
      return { ok: false, problems: [`${file}: ${(err as Error).message}`] };
    }
  }
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(ENVIRONMENT)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let parsed: unknown = value;
    if (spec.type === 'integer') {
      parsed = /^\d+$/.test(value) ? Number(value) : value === 'auto' ? 'auto' : NaN;
      if (Number.isNaN(parsed)) problems.push(`${name} must be a whole number`);
    } else if (spec.type === 'list') {
      parsed = value.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (spec.type === 'boolean') {
      parsed = ['1', 'true', 'yes'].includes(value.toLowerCase());
    }
    setPath(raw, spec.path, parsed);
  }
  const ajv = new Ajv({ allErrors: true });
  if (!ajv.validate(schema, raw)) {
    for (const e of ajv.errors ?? []) problems.push(`${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const config = resolveDefaults(raw, cwd);
  const c = config.connections;
  // Node refuses to start a server whose headers limit outlasts its request limit.
  if (c.headersTimeoutMs > c.requestTimeoutMs) problems.push('connections.headersTimeoutMs must not exceed connections.requestTimeoutMs');
  if (c.checkIntervalMs > c.headersTimeoutMs) problems.push('connections.checkIntervalMs must not exceed connections.headersTimeoutMs');
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}

function setPath(obj: Raw, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
    cur = cur[key] as Raw;
  }
  cur[path[path.length - 1]!] = value;
}

function resolveDefaults(raw: Raw, cwd: string): Config {
  const get = <T>(path: string[], fallback: T): T => {
    let cur: unknown = raw;
    for (const k of path) cur = (cur as Raw | undefined)?.[k];
    return (cur as T | undefined) ?? fallback;
  };
  const dataDir = resolve(cwd, get(['dataDir'], 'data'));
  const inData = (p: string) => join(dataDir, p);
  const path = (keys: string[], fallback: string) => resolve(cwd, get(keys, fallback));
  const databaseUrl = get<string | null>(['databaseUrl'], null);
  const adminTokenFile = get<string | null>(['adminTokenFile'], null);
  const workers = get<number | 'auto'>(['workers'], 'auto');
  const passphraseFile = get<string | null>(['ca', 'passphraseFile'], null);
  const passphrase = passphraseFile
    ? readFileSync(resolve(cwd, passphraseFile), 'utf8').trimEnd()
    : process.env.WORKLOAD_CA_KEY_PASSPHRASE || undefined;
  // The development token issuer exists only in the embedded mode unless asked for explicitly.
  const devTokens = get<boolean | { maxTokenLifetimeSeconds?: number }>(['devTokenIssuer'], databaseUrl === null);
  const tokenIssuers = get<TokenIssuerConfig[]>(['tokenIssuers'], []).map((t) => ({
    ...t,
    ...(t.jwksFile ? { jwksFile: resolve(cwd, t.jwksFile) } : {}),
    maxTokenLifetimeSeconds: t.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  }));
  return {
    listen: { host: get(['listen', 'host'], '127.0.0.1'), port: get(['listen', 'port'], 8443) },
    dataDir,
    trustDomain: get(['trustDomain'], 'workload-ca.test'),
    workers: workers === 'auto' ? availableParallelism() : workers,
    policyFile: path(['policyFile'], inData('policy.yaml')),
    ca: {
      rootCert: path(['ca', 'rootCert'], inData('ca/root-ca.pem')),
      issuingCert: path(['ca', 'issuingCert'], inData('ca/issuing-ca.pem')),
      issuingKey: path(['ca', 'issuingKey'], inData('ca/issuing-ca.key')),
      ...(passphrase === undefined ? {} : { passphrase }),
    },
    tls: {
      cert: path(['tls', 'cert'], inData('tls/server.pem')),
      key: path(['tls', 'key'], inData('tls/server.key')),
      dnsNames: get(['tls', 'dnsNames'], ['localhost']),
      ipAddresses: get(['tls', 'ipAddresses'], ['127.0.0.1', '::1']),
      ciphers: get(['tls', 'ciphers'], DEFAULT_TLS_CIPHERS),
    },
    // Headers within 8 s, enforced every second: a slow-header client is gone within 9 s.
    // Keep-alive stays above the 60 s idle timeout of common load balancers, so they close first.
    connections: {
      handshakeTimeoutMs: get(['connections', 'handshakeTimeoutMs'], 8_000),
      headersTimeoutMs: get(['connections', 'headersTimeoutMs'], 8_000),
      requestTimeoutMs: get(['connections', 'requestTimeoutMs'], 30_000),
      keepAliveTimeoutMs: get(['connections', 'keepAliveTimeoutMs'], 65_000),
      checkIntervalMs: get(['connections', 'checkIntervalMs'], 1_000),
    },
    tokenIssuers,
    devTokenIssuer: devTokens
      ? {
          issuer: DEV_TOKEN_ISSUER,
          audience: DEV_TOKEN_AUDIENCE,
          dir: inData('dev-token-issuer'),
          maxTokenLifetimeSeconds: (typeof devTokens === 'object' ? devTokens.maxTokenLifetimeSeconds : undefined) ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
        }
      : null,
    limits: { bodyBytes: get(['limits', 'bodyBytes'], 64 * 1024) },
    logLevel: get(['logLevel'], 'info'),
    databaseUrl,
    redisUrl: get<string | null>(['redisUrl'], null),
    redisPrefix: get(['redisPrefix'], 'workload-ca'),
    admin: {
      token: process.env.WORKLOAD_CA_ADMIN_TOKEN?.trim() || null,
      // The embedded mode makes one on first start.
      tokenFile: adminTokenFile ? resolve(cwd, adminTokenFile) : databaseUrl === null ? inData('admin-token') : null,
    },
    worker: {
      concurrency: get(['worker', 'concurrency'], 8),
      metricsHost: get(['worker', 'metricsHost'], '127.0.0.1'),
      metricsPort: get(['worker', 'metricsPort'], 9464),
    },
    est: {
      usersFile: path(['est', 'usersFile'], inData('est-users.json')),
      trustAnchors: get<string[]>(['est', 'trustAnchors'], []).map((f) => resolve(cwd, f)),
      trustRegistrationAuthorities: get(['est', 'trustRegistrationAuthorities'], false),
      labels: Object.fromEntries(
        Object.entries(get<Record<string, { trustAnchors?: string[]; trustRegistrationAuthorities?: boolean }>>(['est', 'labels'], {})).map(([label, l]) => [
          label,
          { trustAnchors: (l.trustAnchors ?? []).map((f) => resolve(cwd, f)), trustRegistrationAuthorities: l.trustRegistrationAuthorities ?? false },
        ]),
      ),
    },
    acme: {
      externalAccountRequired: get(['acme', 'externalAccountRequired'], true),
      termsOfService: get<string | null>(['acme', 'termsOfService'], null),
      publicUrl: get<string | null>(['acme', 'publicUrl'], null),
      validation: {
        http01Port: get(['acme', 'validation', 'http01Port'], 80),
        tlsAlpn01Port: get(['acme', 'validation', 'tlsAlpn01Port'], 443),
        resolver: get<string | null>(['acme', 'validation', 'resolver'], null),
        timeoutMs: get(['acme', 'validation', 'timeoutMs'], 10_000),
        allowedNetworks: get<string[]>(['acme', 'validation', 'allowedNetworks'], []),
        deniedNetworks: get<string[]>(['acme', 'validation', 'deniedNetworks'], []),
        maxRedirects: get(['acme', 'validation', 'maxRedirects'], 10),
        maxResponseBytes: get(['acme', 'validation', 'maxResponseBytes'], 8192),
      },
      authorizationReuseSeconds: get(['acme', 'authorizationReuseSeconds'], 24 * 3600),
      orderLifetimeSeconds: get(['acme', 'orderLifetimeSeconds'], 3600),
      nonceLifetimeSeconds: get(['acme', 'nonceLifetimeSeconds'], 3600),
      finalizeTimeoutSeconds: get(['acme', 'finalizeTimeoutSeconds'], 60),
      rateLimits: {
        newOrdersPerHour: get(['acme', 'rateLimits', 'newOrdersPerHour'], 300),
        failedValidationsPerHour: get(['acme', 'rateLimits', 'failedValidationsPerHour'], 60),
      },
    },
  };
}
