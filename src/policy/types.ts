// The vocabulary shared by the policy document, its evaluation and its callers.
// Nothing here imports anything of ours: the policy is pure and stands alone.

/** Key algorithms a certificate's subject key may use. The issuing key is always P-256. */
export const KEY_ALGORITHMS = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export const ENROLLMENT_PATHS = ['api', 'acme', 'est'] as const;
export type EnrollmentPath = (typeof ENROLLMENT_PATHS)[number];

/**
 * Who asked, as established by the protocol layer's authentication. Each variant carries only
 * what that authentication actually proved; the policy matches on these facts.
 */
export type Requester =
  | {
      readonly kind: 'token';
      /** `iss` of a verified JWT (for example a Kubernetes service-account token). */
      readonly issuer: string;
      readonly subject: string;
      readonly claims: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'svid';
      /** SPIFFE ID of a currently valid certificate from this CA presented over mTLS. */
      readonly spiffeId: string;
      readonly serial: string;
    }
  | {
      readonly kind: 'acme-account';
      readonly accountId: string;
      /** The external-account binding the account was created with, if any. */
      readonly binding: string | null;
      /** The EAB key that bound the account, for the ledger only (no rule matches on it). */
      readonly eabKeyId?: string | null;
      /**
       * The order being finalized, for the ledger only (no rule matches on it): it links the
       * certificate to its order when the finalizing replica dies before recording it.
       */
      readonly orderId?: string;
    }
  | {
      readonly kind: 'est-client';
      /**
       * Basic user name; for a client certificate, its subject's common name, else its SPIFFE ID,
       * else its whole subject.
       */
      readonly name: string;
      readonly label: string | null;
      readonly certificate: {
        /** `C=.., O=.., CN=..` in the certificate's own order. */
        readonly subject: string;
        /** `URI:…`, `DNS:…`, `IP Address:…` (canonical text: 2001:db8::1), `email:…`, read from the certificate's DER. */
        readonly sans: readonly string[];
        readonly issuer?: string;
        readonly serial?: string;
      } | null;
      /** What proved the identity; absent for callers that predate it (treated as unknown). */
      readonly auth?: EstAuth;
      /** The SPIFFE ID of the client certificate when it is a current certificate from this CA. */
      readonly spiffeId?: string | null;
      /** The EST operation, for the ledger (serverkeygen means the CA made the key). */
      readonly operation?: 'simpleenroll' | 'simplereenroll' | 'serverkeygen';
      /**
       * Set when the client is a registration authority its EST path trusts (RFC 7030 §3.7, a
       * certificate with id-kp-cmcRA): the RA vouched for the proof of possession of the CSR it
       * forwarded, so the CSR's challengePassword (the device's own channel binding) was not
       * compared with this connection's. Names the RA's certificate.
       */
      readonly popVouchedBy?: { readonly subject: string; readonly serial: string; readonly spiffeId: string | null };
    };

/**
 * How an EST client authenticated: HTTP Basic with a stored credential, a client certificate
 * chaining to the label's trust anchors (manufacturer or bootstrap certificates), or a current
 * certificate from this CA. `none` only appears on refusals of unauthenticated requests.
 */
export const EST_AUTH_KINDS = ['basic', 'trust-anchor', 'svid', 'none'] as const;
export type EstAuth = (typeof EST_AUTH_KINDS)[number];

/** What the policy is asked to decide. Built by the Issuer from a verified CSR and request. */
export interface PolicyInput {
  readonly path: EnrollmentPath;
  readonly requester: Requester;
  readonly keyAlgorithm: KeyAlgorithm;
  /** The SPIFFE ID asked for, if the protocol lets the client name one. */
  readonly spiffeId: string | null;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** Requested lifetime in seconds, or null for the rule's default. */
  readonly lifetimeSeconds: number | null;
}

/** Why the policy refused a request. */
export const DENIAL_CODES = [
  'no-matching-rule',
  'key-not-allowed',
  'identity-not-allowed',
  'san-not-allowed',
  'lifetime-not-allowed',
  'path-not-allowed',
] as const;
export type DenialCode = (typeof DENIAL_CODES)[number];

/**
 * Every reason a request can be refused, on any path: the policy's, a CSR that fails the checks,
 * failed authentication, and a request the protocol cannot read. Stable names: the ledger records
 * them and each protocol maps every one of them to its own answer (src/http/refusal-answers.ts).
 */
export const REFUSAL_CODES = [...DENIAL_CODES, 'bad-csr', 'unauthenticated', 'bad-request'] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export type Decision =
  | {
      readonly allowed: true;
      readonly rule: string;
      readonly spiffeId: string;
      readonly dnsNames: readonly string[];
      readonly ipAddresses: readonly string[];
      readonly lifetimeSeconds: number;
      /** The certificate names the issuing CA's CRL. */
      readonly crlDistributionPoint: boolean;
    }
  | {
      readonly allowed: false;
      /** The rule that refused, or `guardrails` / `default-deny` when none applied. */
      readonly rule: string;
      readonly code: DenialCode;
      readonly reason: string;
    };

// ---------------------------------------------------------------------------------------------
// The compiled policy: what parsePolicy builds once at load and evaluate reads on every request.
// Everything that can be worked out ahead of time (globs split, templates parsed, CIDRs decoded,
// lifetimes resolved against the guardrails) already is, so evaluation only compares.
// ---------------------------------------------------------------------------------------------

/** One thing wrong with a policy document, pointing at the line (1-based) an operator must edit. */
export interface PolicyProblem {
  readonly line: number;
  readonly column: number;
  /** Where in the document, e.g. `rules[2].grant.maxLifetime`; "" for the document itself. */
  readonly path: string;
  readonly message: string;
}

export interface Guardrails {
  readonly trustDomain: string;
  readonly keyAlgorithms: readonly KeyAlgorithm[];
  readonly maxLifetimeSeconds: number;
}

export interface Policy {
  /** `sha256:` and the hex digest of the exact document text; the ledger records it. */
  readonly hash: `sha256:${string}`;
  readonly version: 1;
  readonly guardrails: Guardrails;
  /** In document order: the first whose `match` fits decides. */
  readonly rules: readonly CompiledRule[];
}

export interface CompiledRule {
  readonly name: string;
  readonly paths: readonly EnrollmentPath[];
  readonly requester: RequesterMatcher;
  readonly grant: CompiledGrant;
}

/** A `*`-only glob, split at its stars at load so that matching needs neither regex nor allocation. */
export interface Glob {
  readonly source: string;
  /** The literal text between stars; a glob without stars has exactly one piece. */
  readonly pieces: readonly string[];
}

/** Exactly one kind of requester per rule: a rule never has to say what happens to the others. */
export type RequesterMatcher =
  | { readonly kind: 'token'; readonly issuer: string; readonly claims: readonly ClaimMatcher[] }
  | { readonly kind: 'svid'; readonly spiffeId: Glob }
  /** `binding: null` means any account, with or without a binding. */
  | { readonly kind: 'acme'; readonly binding: Glob | null }
  /**
   * `null` means any; a glob never matches a value the client does not have (no label, no
   * certificate, no SPIFFE ID). `san` matches if any one SAN (`URI:…`, `DNS:…`) does.
   */
  | {
      readonly kind: 'est';
      readonly label: Glob | null;
      readonly name: Glob | null;
      readonly auth: readonly EstAuth[] | null;
      readonly spiffeId: Glob | null;
      readonly subject: Glob | null;
      readonly san: Glob | null;
    };

export interface ClaimMatcher {
  /** The dotted key as written, for messages. */
  readonly key: string;
  readonly segments: readonly string[];
  /**
   * `spans[i][k]` is segments i..i+k joined with ".", so that a dotted path can be walked over
   * keys that themselves contain dots ("kubernetes.io") without joining strings per request.
   */
  readonly spans: readonly (readonly string[])[];
  /** Any of these may match (a string claim, or any string element of an array claim). */
  readonly globs: readonly Glob[];
}

export const TEMPLATE_ROOTS = ['trustDomain', 'claims', 'requester', 'binding', 'dnsName'] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

export type TemplatePart =
  | { readonly kind: 'literal'; readonly text: string }
  | {
      readonly kind: 'ref';
      readonly root: TemplateRoot;
      readonly path: readonly string[];
      /** The placeholder as written, braces included, for messages. */
      readonly source: string;
    };

export type Template =
  /** The whole template is `{requester.spiffeId}`: the requester's own, complete ID. */
  | { readonly kind: 'requester-id'; readonly source: string }
  | {
      readonly kind: 'parts';
      readonly source: string;
      readonly parts: readonly TemplatePart[];
      /** The rendered text when there are no placeholders, so rendering is free. */
      readonly constant: string | null;
    };

/** A DNS name pattern from `grant.dnsNames`. */
export interface DnsPattern {
  readonly source: string;
  readonly template: Template;
  /** Precompiled when the pattern has no placeholders. */
  readonly fixed: DnsMatcher | null;
}

export interface DnsMatcher {
  /** `*.suffix`: one or more labels under `name`; otherwise exactly `name`. */
  readonly wildcard: boolean;
  /** Lower-case; for a wildcard the suffix without the leading `*.`. */
  readonly name: string;
}

export interface IpRange {
  readonly source: string;
  readonly family: 4 | 6;
  /** Network address, one number per byte (4 or 16 of them), host bits zero. */
  readonly bytes: readonly number[];
  readonly prefixLength: number;
}

export interface CompiledGrant {
  readonly spiffeId: Template;
  /**
   * `exact`: the rendered ID is the one granted. `subtree` (the template ended in `/*`): the
   * request must name an ID strictly under the rendered one, and gets that ID; this is how a
   * gateway enrolls its devices under its own prefix.
   */
  readonly spiffeIdScope: 'exact' | 'subtree';
  readonly dnsNames: readonly DnsPattern[];
  readonly ipRanges: readonly IpRange[];
  /** Already narrowed: a subset of the guardrails' list. */
  readonly keyAlgorithms: readonly KeyAlgorithm[];
  readonly defaultLifetimeSeconds: number;
  readonly maxLifetimeSeconds: number;
  /**
   * Whether certificates name the issuing CA's CRL (a CRL Distribution Points extension): for
   * long-lived device certificates; short-lived SVIDs need none.
   */
  readonly crlDistributionPoint: boolean;
}
