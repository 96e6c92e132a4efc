// The one definition of every setting: its type, range, default, environment variable and
// meaning. The TypeScript types, the JSON schema the file is checked with, the environment
// parsing and the README's tables are all derived from this file (see settings.ts, readme.ts).
//
// A setting is a schema node carrying `env`. Nodes above it are groups (file keys only); nodes
// below it are parts of one value (tokenIssuers[].issuer), set together from the environment as
// JSON. Defaults that depend on another setting (paths under dataDir, the mode) are not here but
// in resolve.ts; their `docDefault` says what they are.

import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** What the schema says about a setting beyond its type; read by settings.ts and readme.ts. */
export interface SettingDoc {
  /** The environment variable that sets it. */
  readonly env: string;
  readonly description: string;
  /** A valid value other than the default: the README's example and the file/env round-trip test. */
  readonly examples: readonly [unknown];
  /** The default as the README shows it, when the `default` keyword cannot say it. */
  readonly docDefault?: string;
  /** Never echoed back in a problem. */
  readonly secret?: true;
  /** What a value must be, for problems where the schema's own words would be a list of branches. */
  readonly expected?: string;
}

/** Annotation keywords this project adds to JSON schema; ajv is told they carry no validation. */
export const ANNOTATION_KEYWORDS = ['env', 'docDefault', 'secret', 'expected', 'keyName'] as const;

const doc = (d: SettingDoc): SettingDoc => d;

/** A string setting that may also be null (its default): "not set" without an optional key. */
function nullableString(options: Parameters<typeof Type.String>[0] & SettingDoc) {
  return Type.Unsafe<string | null>({ ...Type.String(options), type: ['string', 'null'], default: null });
}

/** A group of settings: absent in the file means every default. */
function group<P extends Record<string, TSchema>>(properties: P) {
  return Type.Object(properties, { additionalProperties: false, default: {} });
}

/** OpenSSL names: ECDHE with AEAD only (see http/listener-options.ts for why). */
export const DEFAULT_TLS_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:' +
  'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305';

/** Default cap on a token's lifetime: Kubernetes projected tokens live an hour, so a day refuses nothing legitimate. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

// Shape only here; serve parses each entry and refuses to start on a bad one.
const CIDR = { type: 'string', pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' } as const;

export const TokenIssuerSchema = Type.Object(
  {
    issuer: Type.String({ minLength: 1, description: 'expected `iss`' }),
    audiences: Type.Array(Type.String(), { minItems: 1, description: 'accepted `aud` values; a token must carry at least one' }),
    jwksFile: Type.Optional(Type.String({ description: 'a JWKS document on disk (this or `jwksUrl`)' })),
    jwksUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'a JWKS URL, fetched and cached for 10 minutes (this or `jwksFile`)' })),
    maxTokenLifetimeSeconds: Type.Integer({
      minimum: 60,
      default: DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
      description: 'longest token lifetime accepted from this issuer: `exp` minus `iat`, else `nbf`, else now; a longer-lived token gets 401',
    }),
  },
  {
    additionalProperties: false,
    oneOf: [{ required: ['jwksFile'] }, { required: ['jwksUrl'] }],
    expected: 'an issuer with exactly one of jwksFile and jwksUrl',
  },
);

export const ConnectionsSchema = group({
  handshakeTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 600000,
    default: 8_000,
    ...doc({ env: 'WORKLOAD_CA_TLS_HANDSHAKE_TIMEOUT_MS', description: 'from accept to a finished TLS handshake', examples: [5000] }),
  }),
  // Headers within 8 s, enforced every second: a slow-header client is gone within 9 s.
  headersTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 600000,
    default: 8_000,
    ...doc({
      env: 'WORKLOAD_CA_HEADERS_TIMEOUT_MS',
      description:
        'from the start of a request, or of the connection for its first, to its last header (a connection that sends nothing is closed too); at most `requestTimeoutMs`',
      examples: [5000],
    }),
  }),
  requestTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 3600000,
    default: 30_000,
    ...doc({ env: 'WORKLOAD_CA_REQUEST_TIMEOUT_MS', description: 'from the start of a request to its last body byte', examples: [60000] }),
  }),
  // Keep-alive stays above the 60 s idle timeout of common load balancers, so they close first.
  keepAliveTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 3600000,
    default: 65_000,
    ...doc({
      env: 'WORKLOAD_CA_KEEP_ALIVE_TIMEOUT_MS',
      description: "idle time between requests on a kept-alive connection; keep it above your load balancer's idle timeout (60 s on most)",
      examples: [120000],
    }),
  }),
  checkIntervalMs: Type.Integer({
    minimum: 50,
    maximum: 60000,
    default: 1_000,
    ...doc({
      env: 'WORKLOAD_CA_CONNECTIONS_CHECK_INTERVAL_MS',
      description: 'how often the headers and request limits are enforced (Node checks them on a sweep, not per connection)',
      examples: [500],
    }),
  }),
});

export const AcmeValidationSchema = group({
  http01Port: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: 80,
    ...doc({ env: 'WORKLOAD_CA_ACME_HTTP01_PORT', description: 'port `http-01` connects to', examples: [8080] }),
  }),
  tlsAlpn01Port: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: 443,
    ...doc({ env: 'WORKLOAD_CA_ACME_TLSALPN01_PORT', description: 'port `tls-alpn-01` connects to', examples: [8443] }),
  }),
  resolver: nullableString({
    pattern: '^[^\\s]+:\\d+$',
    env: 'WORKLOAD_CA_ACME_RESOLVER',
    description: '`host:port` of the DNS server validation uses (A, AAAA, TXT)',
    docDefault: "the system's",
    examples: ['10.0.0.53:53'],
    expected: 'host:port',
  }),
  timeoutMs: Type.Integer({
    minimum: 100,
    maximum: 120000,
    default: 10_000,
    ...doc({
      env: 'WORKLOAD_CA_ACME_VALIDATION_TIMEOUT_MS',
      description: 'the whole of one validation, name resolution and every redirect included',
      examples: [5000],
    }),
  }),
  answerWithinMs: Type.Integer({
    minimum: 0,
    maximum: 5000,
    default: 500,
    ...doc({
      env: 'WORKLOAD_CA_ACME_VALIDATION_ANSWER_WITHIN_MS',
      description:
        'how long a challenge response waits for its validation to finish, to answer `valid` or `invalid` at once instead of `processing` with `Retry-After`; 0 always answers `processing`',
      examples: [0],
    }),
  }),
  allowedNetworks: Type.Array(Type.Unsafe<string>(CIDR), {
    default: [],
    ...doc({
      env: 'WORKLOAD_CA_ACME_ALLOWED_NETWORKS',
      description:
        'CIDRs (`10.0.0.0/8`, `fd00::/8`, or one address) validation may connect to; when set, only these. Loopback (`127.0.0.0/8`, `::1`) is reached only when this names it',
      docDefault: 'none: any address not denied, except loopback',
      examples: [['10.0.0.0/8', 'fd00::/8']],
    }),
  }),
  deniedNetworks: Type.Array(Type.Unsafe<string>(CIDR), {
    default: [],
    ...doc({
      env: 'WORKLOAD_CA_ACME_DENIED_NETWORKS',
      description: 'more CIDRs validation never connects to; a denial wins over `allowedNetworks`',
      docDefault: 'link-local, cloud metadata, multicast and unspecified addresses, always',
      examples: [['10.9.0.0/16']],
    }),
  }),
  maxRedirects: Type.Integer({
    minimum: 0,
    maximum: 20,
    default: 10,
    ...doc({ env: 'WORKLOAD_CA_ACME_MAX_REDIRECTS', description: 'redirects one `http-01` validation follows', examples: [3] }),
  }),
  maxResponseBytes: Type.Integer({
    minimum: 128,
    maximum: 1048576,
    default: 8192,
    ...doc({ env: 'WORKLOAD_CA_ACME_MAX_RESPONSE_BYTES', description: 'largest `http-01` response body read', examples: [1024] }),
  }),
});

export const AcmeSchema = group({
  externalAccountRequired: Type.Boolean({
    default: true,
    ...doc({
      env: 'WORKLOAD_CA_ACME_EAB_REQUIRED',
      description: 'newAccount needs an external account binding (the binding is what the policy matches)',
      examples: [false],
    }),
  }),
  termsOfService: nullableString({
    pattern: '^https?://',
    env: 'WORKLOAD_CA_ACME_TERMS_OF_SERVICE',
    description: 'URL in the directory; accounts must agree',
    docDefault: 'none',
    examples: ['https://ca.example.net/terms'],
    expected: 'an http:// or https:// URL',
  }),
  publicUrl: nullableString({
    pattern: '^https://[^/]+$',
    env: 'WORKLOAD_CA_ACME_PUBLIC_URL',
    description: 'base of every ACME URL, e.g. `https://ca.example.net` behind a load balancer',
    docDefault: "from the request's `Host`",
    examples: ['https://ca.example.net'],
    expected: 'https://host[:port], without a path',
  }),
  validation: AcmeValidationSchema,
  authorizationReuseSeconds: Type.Integer({
    minimum: 0,
    default: 24 * 3600,
    ...doc({
      env: 'WORKLOAD_CA_ACME_AUTHORIZATION_REUSE_SECONDS',
      description: 'how long a valid authorization serves later orders of the same account',
      examples: [3600],
    }),
  }),
  orderLifetimeSeconds: Type.Integer({
    minimum: 60,
    default: 3600,
    ...doc({ env: 'WORKLOAD_CA_ACME_ORDER_LIFETIME_SECONDS', description: 'how long an order (and a fresh authorization) lives', examples: [600] }),
  }),
  nonceKeyFile: Type.Optional(
    Type.String({
      minLength: 1,
      ...doc({
        env: 'WORKLOAD_CA_ACME_NONCE_KEY_FILE',
        description:
          'the secret every replica authenticates replay nonces with (32 random bytes or more, any encoding); made by `init` and the embedded first start',
        docDefault: '`<dataDir>/ca/acme-nonce.key`',
        examples: ['secrets/acme-nonce.key'],
      }),
    }),
  ),
  nonceLifetimeSeconds: Type.Integer({
    minimum: 10,
    default: 3600,
    ...doc({ env: 'WORKLOAD_CA_ACME_NONCE_LIFETIME_SECONDS', description: 'how long a nonce stays usable', examples: [600] }),
  }),
  finalizeTimeoutSeconds: Type.Integer({
    minimum: 1,
    default: 60,
    ...doc({
      env: 'WORKLOAD_CA_ACME_FINALIZE_TIMEOUT_SECONDS',
      description:
        'how long an order may stay `processing` before a poll settles it as left by a replica that died mid-finalize (completed from the ledger, or `ready` again)',
      examples: [30],
    }),
  }),
  rateLimits: group({
    newOrdersPerHour: Type.Integer({
      minimum: 1,
      default: 300,
      ...doc({
        env: 'WORKLOAD_CA_ACME_NEW_ORDERS_PER_HOUR',
        description: 'new orders per account per hour (`rateLimited`, `Retry-After`)',
        examples: [100],
      }),
    }),
    failedValidationsPerHour: Type.Integer({
      minimum: 1,
      default: 60,
      ...doc({ env: 'WORKLOAD_CA_ACME_FAILED_VALIDATIONS_PER_HOUR', description: 'failed validations per account per hour', examples: [10] }),
    }),
  }),
});

export const EstLabelSchema = Type.Object(
  {
    trustAnchors: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'the same as `est.trustAnchors`, for this label' }),
    trustRegistrationAuthorities: Type.Boolean({ default: false, description: 'the same as `est.trustRegistrationAuthorities`, for this label' }),
  },
  { additionalProperties: false },
);

/** The dashboard at /ui/. */
export const UiSchema = group({
  sessionKeyFile: Type.Optional(
    Type.String({
      minLength: 1,
      ...doc({
        env: 'WORKLOAD_CA_UI_SESSION_KEY_FILE',
        description:
          'key that signs dashboard session cookies (random, at least 32 characters; not derived from any CA key); every replica must read the same one (a mounted Secret)',
        docDefault: '`<dataDir>/ui-session-key` (made on first start)',
        examples: ['ui-session-key'],
      }),
    }),
  ),
  sessionMinutes: Type.Integer({
    minimum: 1,
    maximum: 720,
    default: 30,
    ...doc({
      env: 'WORKLOAD_CA_UI_SESSION_MINUTES',
      description: 'how long a dashboard sign-in lasts; then the admin token is asked for again',
      examples: [15],
    }),
  }),
});

export const EstSchema = group({
  usersFile: Type.Optional(
    Type.String({
      minLength: 1,
      ...doc({
        env: 'WORKLOAD_CA_EST_USERS_FILE',
        description: 'HTTP Basic credentials (scrypt)',
        docDefault: '`<dataDir>/est-users.json`',
        examples: ['est-users.json'],
      }),
    }),
  ),
  basicCacheSeconds: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 300,
    ...doc({
      env: 'WORKLOAD_CA_EST_BASIC_CACHE_SECONDS',
      description:
        'how long a verified HTTP Basic credential is accepted again without re-hashing (held in memory as a keyed hash, never the password; a changed or removed user is re-checked at once); 0 hashes every time',
      examples: [60],
    }),
  }),
  passwordHashConcurrency: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 1,
    ...doc({
      env: 'WORKLOAD_CA_EST_PASSWORD_HASH_CONCURRENCY',
      description:
        'password hashes (scrypt) computed at once per serving process; more wait their turn, so hashing never fills the thread pool other requests need',
      examples: [2],
    }),
  }),
  trustAnchors: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    ...doc({
      env: 'WORKLOAD_CA_EST_TRUST_ANCHORS',
      description: 'PEM files of CAs whose client certificates authenticate on the unlabeled path',
      examples: [['gateways-ca.pem']],
    }),
  }),
  trustRegistrationAuthorities: Type.Boolean({
    default: false,
    ...doc({
      env: 'WORKLOAD_CA_EST_TRUST_REGISTRATION_AUTHORITIES',
      description:
        'the unlabeled path trusts registration authorities (client certificates with id-kp-cmcRA, RFC 7030 §3.7) among its trust-anchor clients',
      examples: [true],
    }),
  }),
  // RFC 7030 §3.2.2: a label is one path segment.
  labels: Type.Record(Type.String(), EstLabelSchema, {
    default: {},
    propertyNames: { pattern: '^[A-Za-z0-9_-]{1,64}$' },
    keyName: '<label>',
    ...doc({
      env: 'WORKLOAD_CA_EST_LABELS',
      description: 'label name to its own trust anchors; only configured labels exist (404 otherwise)',
      docDefault: 'none',
      examples: [{ gateways: { trustAnchors: ['gateways-ca.pem'], trustRegistrationAuthorities: true } }],
    }),
  }),
});

export const CrlSchema = group({
  publicUrl: nullableString({
    // IA5 characters only: the URL is written into certificates as an IA5String.
    pattern: '^https?://[^/\\s]+(/[!-~]*)?$',
    env: 'WORKLOAD_CA_CRL_PUBLIC_URL',
    description:
      'base URL relying parties fetch CRLs from (usually `http://`, through a load balancer or CDN); a policy rule with `crlDistributionPoint: true` names `<publicUrl>/crl/<issuer key id>.crl` in what it issues',
    docDefault: 'none: no rule may ask for a CRL distribution point',
    examples: ['http://pki.example.net'],
    expected: 'an http:// or https:// URL of printable ASCII',
  }),
  validitySeconds: Type.Integer({
    minimum: 600,
    maximum: 30 * 24 * 3600,
    default: 24 * 3600,
    ...doc({ env: 'WORKLOAD_CA_CRL_VALIDITY_SECONDS', description: 'from thisUpdate to nextUpdate of each CRL', examples: [7 * 24 * 3600] }),
  }),
  renewBeforeSeconds: Type.Integer({
    minimum: 60,
    default: 12 * 3600,
    ...doc({
      env: 'WORKLOAD_CA_CRL_RENEW_BEFORE_SECONDS',
      description: 'a CRL nothing has changed is signed afresh this long before its nextUpdate; less than `validitySeconds`',
      examples: [3600],
    }),
  }),
  pollSeconds: Type.Integer({
    minimum: 1,
    maximum: 300,
    default: 5,
    ...doc({
      env: 'WORKLOAD_CA_CRL_POLL_SECONDS',
      description:
        'how often each replica looks for a newer CRL and for revocations it was not told about (a revocation it hears of is published at once)',
      examples: [10],
    }),
  }),
  maxAgeSeconds: Type.Integer({
    minimum: 0,
    default: 300,
    ...doc({
      env: 'WORKLOAD_CA_CRL_MAX_AGE_SECONDS',
      description: "`Cache-Control: max-age` of a served CRL (never past its nextUpdate): how stale a cache's copy may get",
      examples: [60],
    }),
  }),
});

export const SettingsSchema = Type.Object(
  {
    listen: group({
      host: Type.String({
        minLength: 1,
        default: '127.0.0.1',
        ...doc({ env: 'WORKLOAD_CA_HOST', description: 'address to listen on', examples: ['0.0.0.0'] }),
      }),
      port: Type.Integer({
        minimum: 0,
        maximum: 65535,
        default: 8443,
        ...doc({ env: 'WORKLOAD_CA_PORT', description: 'HTTPS port (0: any free port)', examples: [443] }),
      }),
    }),
    dataDir: Type.String({
      minLength: 1,
      default: 'data',
      ...doc({ env: 'WORKLOAD_CA_DATA_DIR', description: 'where the embedded mode keeps its files', examples: ['/var/lib/workload-ca'] }),
    }),
    trustDomain: Type.String({
      pattern: '^[a-z0-9._-]+$',
      maxLength: 255,
      default: 'workload-ca.test',
      ...doc({
        env: 'WORKLOAD_CA_TRUST_DOMAIN',
        description: 'trust domain for a new CA and default policy',
        examples: ['prod.example.org'],
        expected: 'lower-case letters, digits, ".", "_" and "-"',
      }),
    }),
    workers: Type.Union([Type.Integer({ minimum: 1, maximum: 256 }), Type.Literal('auto')], {
      default: 'auto',
      ...doc({
        env: 'WORKLOAD_CA_WORKERS',
        description: 'HTTPS serving processes; `1` serves from one process',
        docDefault: '`auto` (one per core)',
        examples: [4],
        expected: 'a whole number from 1 to 256, or auto',
      }),
    }),
    policyFile: Type.Optional(
      Type.String({
        minLength: 1,
        ...doc({ env: 'WORKLOAD_CA_POLICY_FILE', description: 'the policy', docDefault: '`<dataDir>/policy.yaml`', examples: ['policy.yaml'] }),
      }),
    ),
    ca: group({
      rootCert: Type.Optional(
        Type.String({
          ...doc({
            env: 'WORKLOAD_CA_ROOT_CERT',
            description: 'root CA certificate (PEM)',
            docDefault: '`<dataDir>/ca/root-ca.pem`',
            examples: ['ca/root.pem'],
          }),
        }),
      ),
      issuingCert: Type.Optional(
        Type.String({
          ...doc({
            env: 'WORKLOAD_CA_ISSUING_CERT',
            description: 'issuing CA certificate (PEM)',
            docDefault: '`<dataDir>/ca/issuing-ca.pem`',
            examples: ['ca/issuing.pem'],
          }),
        }),
      ),
      issuingKey: Type.Optional(
        Type.String({
          ...doc({
            env: 'WORKLOAD_CA_ISSUING_KEY',
            description: 'issuing CA key (PKCS#8 PEM, encrypted or not)',
            docDefault: '`<dataDir>/ca/issuing-ca.key`',
            examples: ['ca/issuing.key'],
          }),
        }),
      ),
      passphraseFile: Type.Optional(
        Type.String({
          ...doc({
            env: 'WORKLOAD_CA_KEY_PASSPHRASE_FILE',
            description: 'file holding the passphrase of an encrypted issuing key; wins over `ca.passphrase`',
            docDefault: 'none',
            examples: ['passphrase'],
          }),
        }),
      ),
      passphrase: Type.Optional(
        Type.String({
          minLength: 1,
          ...doc({
            env: 'WORKLOAD_CA_KEY_PASSPHRASE',
            description: 'the passphrase itself (prefer `ca.passphraseFile`)',
            docDefault: 'none',
            examples: ['correct horse'],
            secret: true,
          }),
        }),
      ),
      signer: Type.Union([Type.Literal('file'), Type.Literal('pkcs11')], {
        default: 'file',
        ...doc({
          env: 'WORKLOAD_CA_SIGNER',
          description: 'where the issuing key lives: `file` (`ca.issuingKey`) or `pkcs11` (an HSM, `ca.pkcs11.*`)',
          examples: ['pkcs11'],
          expected: 'file or pkcs11',
        }),
      }),
      allowUnencryptedKey: Type.Boolean({
        default: false,
        ...doc({
          env: 'WORKLOAD_CA_ALLOW_UNENCRYPTED_KEY',
          description: 'let production mode (Postgres and Redis) start with an unencrypted issuing key file',
          examples: [true],
        }),
      }),
      pkcs11: group({
        module: nullableString({
          ...doc({
            env: 'WORKLOAD_CA_PKCS11_MODULE',
            description: "the HSM vendor's PKCS#11 library",
            docDefault: 'none',
            examples: ['/usr/lib/softhsm/libsofthsm2.so'],
          }),
        }),
        tokenLabel: nullableString({
          ...doc({
            env: 'WORKLOAD_CA_PKCS11_TOKEN_LABEL',
            description: 'label of the token holding the issuing key',
            docDefault: 'none',
            examples: ['workload-ca'],
          }),
        }),
        keyLabel: nullableString({
          ...doc({
            env: 'WORKLOAD_CA_PKCS11_KEY_LABEL',
            description: 'CKA_LABEL of the issuing key (this, `keyId`, or both)',
            docDefault: 'none',
            examples: ['issuing-ca'],
          }),
        }),
        keyId: nullableString({
          pattern: '^([0-9a-fA-F]{2})+$',
          ...doc({
            env: 'WORKLOAD_CA_PKCS11_KEY_ID',
            description: 'CKA_ID of the issuing key, hex',
            docDefault: 'none',
            examples: ['01'],
            expected: 'hex digits, two per byte',
          }),
        }),
        pinFile: nullableString({
          ...doc({
            env: 'WORKLOAD_CA_PKCS11_PIN_FILE',
            description: "file holding the token's user PIN; wins over `ca.pkcs11.pin`",
            docDefault: 'none',
            examples: ['hsm-pin'],
          }),
        }),
        pin: nullableString({
          ...doc({
            env: 'WORKLOAD_CA_PKCS11_PIN',
            description: 'the user PIN itself (prefer `ca.pkcs11.pinFile`)',
            docDefault: 'none',
            examples: ['1234'],
            secret: true,
          }),
        }),
      }),
    }),
    tls: group({
      cert: Type.Optional(
        Type.String({
          ...doc({
            env: 'WORKLOAD_CA_TLS_CERT',
            description: 'the HTTPS certificate chain; created from the CA when missing',
            docDefault: '`<dataDir>/tls/server.pem`',
            examples: ['tls/server.pem'],
          }),
        }),
      ),
      key: Type.Optional(
        Type.String({
          ...doc({
            env: 'WORKLOAD_CA_TLS_KEY',
            description: 'the HTTPS key; created with the certificate',
            docDefault: '`<dataDir>/tls/server.key`',
            examples: ['tls/server.key'],
          }),
        }),
      ),
      dnsNames: Type.Array(Type.String(), {
        default: ['localhost'],
        ...doc({
          env: 'WORKLOAD_CA_TLS_DNS_NAMES',
          description: 'DNS names in a generated HTTPS certificate',
          examples: [['ca.example.net', 'localhost']],
        }),
      }),
      ipAddresses: Type.Array(Type.String(), {
        default: ['127.0.0.1', '::1'],
        ...doc({ env: 'WORKLOAD_CA_TLS_IP_ADDRESSES', description: 'IP addresses in a generated HTTPS certificate', examples: [['10.0.0.7']] }),
      }),
      ciphers: Type.String({
        pattern: '^[A-Za-z0-9_+!:@=.-]+$',
        default: DEFAULT_TLS_CIPHERS,
        ...doc({
          env: 'WORKLOAD_CA_TLS_CIPHERS',
          description: "OpenSSL cipher list for TLS 1.2; TLS 1.3 keeps OpenSSL's suites (all AEAD)",
          docDefault: 'ECDHE-ECDSA and ECDHE-RSA with AES-GCM or ChaCha20-Poly1305',
          examples: ['ECDHE-ECDSA-AES128-GCM-SHA256'],
          expected: 'an OpenSSL cipher list',
        }),
      }),
    }),
    connections: ConnectionsSchema,
    tokenIssuers: Type.Array(TokenIssuerSchema, {
      default: [],
      ...doc({
        env: 'WORKLOAD_CA_TOKEN_ISSUERS',
        description: 'trusted JWT issuers',
        docDefault: 'none',
        examples: [
          [{ issuer: 'https://kubernetes.default.svc', audiences: ['workload-ca'], jwksUrl: 'https://kubernetes.default.svc/openid/v1/jwks' }],
        ],
      }),
    }),
    // `true`, or an object (which also means on) carrying the development issuer's own cap.
    devTokenIssuer: Type.Optional(
      Type.Union(
        [
          Type.Boolean(),
          Type.Object(
            {
              maxTokenLifetimeSeconds: Type.Integer({
                minimum: 60,
                default: DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
                description: 'its own cap on token lifetimes; `token --ttl` refuses more',
              }),
            },
            { additionalProperties: false },
          ),
        ],
        {
          ...doc({
            env: 'WORKLOAD_CA_DEV_TOKEN_ISSUER',
            description:
              'the development token issuer and the `token` command; `true`, `false`, or `{maxTokenLifetimeSeconds: N}` (on, with its own cap)',
            docDefault: 'on in embedded mode',
            examples: [{ maxTokenLifetimeSeconds: 600 }],
            expected: 'true, false or {maxTokenLifetimeSeconds: N}',
          }),
        },
      ),
    ),
    limits: group({
      bodyBytes: Type.Integer({
        minimum: 1024,
        default: 64 * 1024,
        ...doc({ env: 'WORKLOAD_CA_BODY_LIMIT_BYTES', description: 'largest request body', examples: [16384] }),
      }),
    }),
    logLevel: Type.Union(
      (['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const).map((l) => Type.Literal(l)),
      {
        default: 'info',
        ...doc({
          env: 'WORKLOAD_CA_LOG_LEVEL',
          description: '`fatal`, `error`, `warn`, `info`, `debug`, `silent`',
          examples: ['debug'],
          expected: 'one of fatal, error, warn, info, debug, silent',
        }),
      },
    ),
    databaseUrl: nullableString({
      env: 'DATABASE_URL',
      description: 'production mode: both this and `redisUrl` set (see "Production")',
      docDefault: 'none',
      examples: ['postgres://db.internal/workload_ca'],
      secret: true,
    }),
    redisUrl: nullableString({
      env: 'REDIS_URL',
      description: 'production mode: both this and `databaseUrl` set',
      docDefault: 'none',
      examples: ['redis://redis.internal:6379'],
      secret: true,
    }),
    redisPrefix: Type.String({
      pattern: '^[A-Za-z0-9:_.-]+$',
      default: 'workload-ca',
      ...doc({
        env: 'WORKLOAD_CA_REDIS_PREFIX',
        description: 'prefix of every Redis key (several deployments can share a Redis)',
        examples: ['ca-staging'],
      }),
    }),
    adminTokenFile: Type.Optional(
      Type.String({
        ...doc({
          env: 'WORKLOAD_CA_ADMIN_TOKEN_FILE',
          description: 'file holding the bearer credential of the inventory API; with none, the inventory API refuses every request',
          docDefault: '`<dataDir>/admin-token` in embedded mode (made on first start); none in production',
          examples: ['admin-token'],
        }),
      }),
    ),
    adminToken: Type.Optional(
      Type.String({
        ...doc({
          env: 'WORKLOAD_CA_ADMIN_TOKEN',
          description: 'the credential itself; wins over `adminTokenFile`',
          docDefault: 'none',
          examples: ['s3cret-admin-token'],
          secret: true,
        }),
      }),
    ),
    worker: group({
      concurrency: Type.Integer({
        minimum: 1,
        maximum: 256,
        default: 8,
        ...doc({
          env: 'WORKLOAD_CA_WORKER_CONCURRENCY',
          description: 'queue jobs (= ledger transactions) a ledger worker runs at once',
          examples: [4],
        }),
      }),
      metricsHost: Type.String({
        default: '127.0.0.1',
        ...doc({
          env: 'WORKLOAD_CA_WORKER_METRICS_HOST',
          description: 'where `workload-ca worker` serves `/metrics` and `/healthz`',
          examples: ['0.0.0.0'],
        }),
      }),
      metricsPort: Type.Integer({
        minimum: 0,
        maximum: 65535,
        default: 9464,
        ...doc({
          env: 'WORKLOAD_CA_WORKER_METRICS_PORT',
          description: "port of the worker's `/metrics` and `/healthz` (0: any free port)",
          examples: [9000],
        }),
      }),
    }),
    ui: UiSchema,
    est: EstSchema,
    acme: AcmeSchema,
    crl: CrlSchema,
  },
  { additionalProperties: false },
);

/** The settings as written, after the schema's defaults. */
export type Settings = Static<typeof SettingsSchema>;
