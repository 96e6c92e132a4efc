// The Issuer: the one place where a certificate request becomes a certificate, and the one place
// where any request is refused.
//
// Every enrollment path (API, ACME, EST) ends here. The steps are fixed: check the CSR, ask the
// policy, sign, check what was signed against the profile, and hand the audit event to the sink.
// The certificate is returned only after the sink has accepted its event. Protocol code that must
// say no before that (authentication, channel binding, renewal rules) or that asks early what
// would be allowed (ACME newOrder) does so through refuse, acceptCsr and preview, so every
// denial row is written by one function, with one clock.

import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import type { AuditEvent, AuditSink, DeniedEvent, UnverifiedRequester } from '../audit/event.js';
import { evaluate, previewNames, type Policy } from '../policy/index.js';
import type { Decision, EnrollmentPath, PolicyInput, RefusalCode, Requester } from '../policy/types.js';
import { LeafProfile, assembleCertificate, newSerial, subjectOfCertificate } from '../pki/certificate.js';
import { checkCsr, type CheckedCsr, type CsrError, type CsrErrorCode } from '../pki/csr.js';
import { RepeatedRefusals } from './repeated-refusals.js';
import type { Signer, SignerSource } from '../pki/signer.js';
import { checkLeafProfile } from '../pki/profile-check.js';

/** Backdating absorbs clock skew between the CA and relying parties. */
const BACKDATE_SECONDS = 5;

export interface IssuanceRequest {
  readonly path: EnrollmentPath;
  readonly requester: Requester;
  /** The CSR as received (DER), or one the protocol already had checked through acceptCsr. */
  readonly csr: Uint8Array | CheckedCsr;
  /** The client's address, for the denial rows. */
  readonly client?: string | null;
  /** A SPIFFE ID the protocol named explicitly; otherwise the CSR's URI SAN, if any, is the request. */
  readonly spiffeId?: string;
  /** Names the protocol validated (ACME identifiers); otherwise the CSR's DNS and IP SANs. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** Requested lifetime, or undefined for the rule's default. */
  readonly lifetimeSeconds?: number;
}

export interface IssuedCertificate {
  readonly der: Buffer;
  readonly serial: string;
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly rule: string;
  readonly policyHash: string;
  /** Set when notAfter was cut short of what the policy granted, and why. */
  readonly capped: LifetimeCap | null;
}

/** The requester's fault, recorded as a denial; each protocol answers it from one table. */
export interface Refusal {
  readonly kind: 'refused';
  readonly code: RefusalCode;
  /** The policy rule that refused, or the check that did (`csr-check`, `est:channel-binding`, ...). */
  readonly rule: string;
  readonly message: string;
  /** For a CSR the checks refused, which check (bad-signature, malformed, too-large, ...). */
  readonly csrError?: CsrErrorCode;
}

/**
 * Nothing was issued and it is nobody's fault: the audit log cannot take the record, or the
 * issuing CA is outside its validity (`ca`; an operator must rotate it).
 */
export interface Unavailable {
  readonly kind: 'unavailable';
  readonly service: 'audit' | 'ca';
  readonly message: string;
  readonly retryAfterSeconds: number;
}

export type IssuanceError = Refusal | Unavailable;

export type IssuanceResult = { readonly ok: true; readonly certificate: IssuedCertificate } | { readonly ok: false; readonly error: IssuanceError };

/** Who is refused, and what is known about the request. */
export interface RefusalContext {
  readonly path: EnrollmentPath;
  /** Verified, or, when authentication failed, only what the request claimed. */
  readonly requester: Requester | UnverifiedRequester;
  readonly client?: string | null;
  readonly csrSha256?: string | null;
  readonly requestedSpiffeId?: string | null;
}

/** Why, for refusals made outside the policy. */
export interface RefusalReason {
  readonly code: RefusalCode;
  readonly rule: string;
  readonly reason: string;
}

export type CsrAcceptance = { readonly ok: true; readonly csr: CheckedCsr } | { readonly ok: false; readonly error: IssuanceError };

export interface PreviewRequest {
  readonly path: EnrollmentPath;
  readonly requester: Requester;
  readonly client?: string | null;
  readonly dnsNames: readonly string[];
}

export type PreviewResult =
  { readonly ok: true; readonly rule: string; readonly spiffeId: string } | { readonly ok: false; readonly error: IssuanceError };

/** Rule name of refusals made by the CSR checks rather than by a policy rule. */
export const CSR_CHECK_RULE = 'csr-check';

/** Told about every outcome, for metrics; must not throw or block. */
export interface IssuanceObserver {
  issued(path: EnrollmentPath, rule: string, seconds: number): void;
  denied(path: EnrollmentPath, rule: string, code: string): void;
  /**
   * A request that presented no credentials at all and was answered with an authentication
   * challenge: how HTTP authentication starts (libest sends every request so first), counted
   * but not a refusal of anyone. `label` is the EST label, '' elsewhere.
   */
  challenged(path: EnrollmentPath, label: string): void;
}

export interface PolicySource {
  readonly current: Policy;
}

/** Why a leaf's notAfter is earlier than the policy's lifetime would make it. */
export type LifetimeCap = 'issuing-ca-expiry';

/** What the Issuer works out once per signer (and again only when a rotation swaps it). */
interface SigningContext {
  readonly signer: Signer;
  readonly profile: LeafProfile;
  readonly subject: Buffer;
  readonly keyIdHex: string;
  /** Where this CA's CRL is published, for rules that ask to name it; null if nowhere. */
  readonly crlUrl: string | null;
  /** The issuing CA's validity, ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

function signingContext(signer: Signer, crlUrlFor: (issuerKeyId: string) => string | null): SigningContext {
  const subject = subjectOfCertificate(signer.certificateDer);
  const ca = new X509Certificate(signer.certificateDer);
  const keyIdHex = signer.keyId.toString('hex');
  // Each issuing CA has its own CRL, so the URL a leaf names follows the signer.
  const crlUrl = crlUrlFor(keyIdHex);
  return {
    signer,
    profile: new LeafProfile({ subject, keyId: signer.keyId }, crlUrl),
    crlUrl,
    subject,
    keyIdHex,
    notBefore: Date.parse(ca.validFrom),
    notAfter: Date.parse(ca.validTo),
  };
}

/** How long a client should wait before retrying while the CA is outside its validity. */
const CA_RETRY_AFTER_SECONDS = 300;

/** Why the CA of `ctx` cannot sign at `now`, or null when it can. */
function unavailableAt(ctx: SigningContext, now: number): Unavailable | null {
  if (now >= ctx.notBefore && now < ctx.notAfter) return null;
  const when =
    now < ctx.notBefore ? `is not valid before ${new Date(ctx.notBefore).toISOString()}` : `expired at ${new Date(ctx.notAfter).toISOString()}`;
  return { kind: 'unavailable', service: 'ca', message: `the issuing CA ${when}`, retryAfterSeconds: CA_RETRY_AFTER_SECONDS };
}

export interface IssuerOptions {
  /**
   * Where an issuing CA's CRL is published, by its key id, for certificates whose rule asks to
   * name it (a CRL Distribution Points extension). Null: no rule may ask (the policy check
   * refuses such a rule).
   */
  readonly crlUrlFor?: (issuerKeyId: string) => string | null;
}

export class Issuer {
  private readonly crlUrlFor: (issuerKeyId: string) => string | null;
  private readonly repeats: RepeatedRefusals;
  private context: SigningContext;

  constructor(
    private readonly signers: SignerSource,
    private readonly policy: PolicySource,
    private readonly audit: AuditSink,
    private readonly observer: IssuanceObserver,
    private readonly clock: () => number = Date.now,
    options: IssuerOptions = {},
  ) {
    this.crlUrlFor = options.crlUrlFor ?? (() => null);
    this.context = signingContext(signers.current, this.crlUrlFor);
    this.repeats = new RepeatedRefusals((e) => this.audit.record(e), clock);
  }

  /** The current signer's context; rebuilt only when the signer changed. */
  private signing(): SigningContext {
    const signer = this.signers.current;
    if (this.context.signer !== signer) this.context = signingContext(signer, this.crlUrlFor);
    return this.context;
  }

  /** Hex of the issuing key's identifier: with the serial, what names a certificate in the ledger. */
  get issuerKeyId(): string {
    return this.signing().keyIdHex;
  }

  /** The issuing CA certificate, DER, for chains. */
  get issuingCertificate(): Buffer {
    return this.signing().signer.certificateDer;
  }

  /** Seconds until the issuing CA expires (negative once it has), for the metric and readiness. */
  caSecondsLeft(): number {
    return (this.signing().notAfter - this.clock()) / 1000;
  }

  /** Why the issuing CA cannot sign now, or null when it can. */
  caUnavailable(): Unavailable | null {
    return unavailableAt(this.signing(), this.clock());
  }

  /** Refuses a request before issuance: records the denial and returns what to answer with. */
  async refuse(context: RefusalContext, why: RefusalReason): Promise<IssuanceError> {
    return this.deny(context, this.policy.current, { kind: 'refused', code: why.code, rule: why.rule, message: why.reason });
  }

  /** A request with no credentials at all got the authentication challenge: counted, not recorded. */
  challenged(path: EnrollmentPath, label = ''): void {
    this.observer.challenged(path, label);
  }

  /**
   * Checks a CSR once (strict DER, signature) for a protocol that must read it before issuance;
   * a CSR that fails is refused here like in issue. Pass the result to issue as `csr`.
   */
  async acceptCsr(context: RefusalContext, der: Uint8Array): Promise<CsrAcceptance> {
    const checked = checkCsr(der);
    if (checked.ok) return checked;
    const csrSha256 = context.csrSha256 ?? sha256Hex(der);
    return { ok: false, error: await this.deny({ ...context, csrSha256 }, this.policy.current, csrRefusal(checked.error)) };
  }

  /**
   * Would the policy issue for these names, and as which SPIFFE ID? For checks ahead of the CSR
   * (ACME newOrder), so nobody proves control of a name the policy would refuse at the end. A
   * refusal is recorded like any other.
   */
  async preview(request: PreviewRequest): Promise<PreviewResult> {
    const policy = this.policy.current;
    const d = previewNames(policy, request.path, request.requester, request.dnsNames);
    if (d.allowed) return { ok: true, rule: d.rule, spiffeId: d.spiffeId };
    const error = await this.deny(request, policy, { kind: 'refused', code: d.code, rule: d.rule, message: d.reason });
    return { ok: false, error };
  }

  async issue(request: IssuanceRequest): Promise<IssuanceResult> {
    const started = performance.now();
    const policy = this.policy.current;
    let csr: CheckedCsr;
    if (request.csr instanceof Uint8Array) {
      const checked = checkCsr(request.csr);
      if (!checked.ok) {
        const csrSha256 = checked.error.code === 'too-large' ? null : sha256Hex(request.csr);
        return { ok: false, error: await this.deny({ ...request, csrSha256 }, policy, csrRefusal(checked.error)) };
      }
      csr = checked.csr;
    } else {
      csr = request.csr;
    }
    const csrHash = sha256Hex(csr.der);

    const input = this.policyInput(request, csr);
    if (!input.ok) return { ok: false, error: await this.deny({ ...request, csrSha256: csrHash }, policy, input.error) };
    const decision: Decision = evaluate(policy, input.value);
    if (!decision.allowed) {
      const refusal: Refusal = { kind: 'refused', code: decision.code, rule: decision.rule, message: decision.reason };
      return { ok: false, error: await this.deny({ ...request, csrSha256: csrHash, requestedSpiffeId: input.value.spiffeId }, policy, refusal) };
    }

    // Outside the issuing CA's validity nothing it signs would verify: nothing is issued.
    const ctx = this.signing();
    const now = this.clock();
    const caDown = unavailableAt(ctx, now);
    if (caDown) return { ok: false, error: caDown };
    const notBefore = new Date(Math.floor(now / 1000) * 1000 - BACKDATE_SECONDS * 1000);
    const wanted = Math.floor(now / 1000) * 1000 + decision.lifetimeSeconds * 1000;
    // A leaf never outlives its CA (RFC 5280 path validation would reject it after the CA's end).
    const capped: LifetimeCap | null = wanted > ctx.notAfter ? 'issuing-ca-expiry' : null;
    const notAfter = new Date(capped ? ctx.notAfter : wanted);
    const serial = newSerial();
    const names = { uris: [decision.spiffeId], dnsNames: decision.dnsNames, ipAddresses: decision.ipAddresses };
    const crlDistributionPoint = decision.crlDistributionPoint;
    const tbs = ctx.profile.tbs({ serial, notBefore, notAfter, spki: csr.spki, publicKeyBits: csr.publicKeyBits, names, crlDistributionPoint });
    const signature = ctx.signer.sign(tbs);
    // A key in memory signs synchronously; only an HSM's answer is awaited.
    const der = assembleCertificate(tbs, signature instanceof Promise ? await signature : signature);

    const problem = checkLeafProfile(der, {
      issuerSubject: ctx.subject,
      issuerKeyId: ctx.signer.keyId,
      spki: csr.spki,
      names,
      notBefore,
      notAfter,
      crlDistributionPoint: crlDistributionPoint ? ctx.crlUrl : null,
    });
    if (problem) {
      // A bug in the encoder, never the requester's fault: refuse loudly rather than release it.
      throw new Error(`signed certificate failed the X509-SVID profile check: ${problem}`);
    }

    const certificate: IssuedCertificate = {
      der,
      serial: serial.toString('hex'),
      spiffeId: decision.spiffeId,
      dnsNames: decision.dnsNames,
      ipAddresses: decision.ipAddresses,
      notBefore,
      notAfter,
      rule: decision.rule,
      policyHash: policy.hash,
      capped,
    };
    const receipt = await this.audit.record({
      v: 1,
      kind: 'issued',
      id: randomUUID(),
      path: request.path,
      requester: request.requester,
      policyHash: policy.hash,
      rule: decision.rule,
      csrSha256: csrHash,
      at: new Date(now).toISOString(),
      serial: certificate.serial,
      issuerKeyId: ctx.keyIdHex,
      spiffeId: decision.spiffeId,
      dnsNames: decision.dnsNames,
      ipAddresses: decision.ipAddresses,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      certificate: der.toString('base64'),
      ...(capped ? { capped } : {}),
    });
    if (!receipt.ok) {
      // The certificate exists only in this function's memory; dropping it here means it was never issued.
      return {
        ok: false,
        error: {
          kind: 'unavailable',
          service: 'audit',
          message: `audit log unavailable: ${receipt.reason}`,
          retryAfterSeconds: receipt.retryAfterSeconds,
        },
      };
    }
    this.observer.issued(request.path, decision.rule, (performance.now() - started) / 1000);
    return { ok: true, certificate };
  }

  private policyInput(request: IssuanceRequest, csr: CheckedCsr): { ok: true; value: PolicyInput } | { ok: false; error: Refusal } {
    const uris = csr.requested.uris;
    if (request.spiffeId === undefined && uris.length > 1) {
      return {
        ok: false,
        error: {
          kind: 'refused',
          code: 'bad-csr',
          rule: CSR_CHECK_RULE,
          message: 'CSR asks for more than one URI SAN; an X509-SVID has exactly one',
        },
      };
    }
    return {
      ok: true,
      value: {
        path: request.path,
        requester: request.requester,
        keyAlgorithm: csr.keyKind,
        spiffeId: request.spiffeId ?? uris[0] ?? null,
        dnsNames: request.dnsNames ?? csr.requested.dnsNames,
        ipAddresses: request.ipAddresses ?? csr.requested.ipAddresses,
        lifetimeSeconds: request.lifetimeSeconds ?? null,
      },
    };
  }

  /**
   * Every denial row is written here. Refusals of requests that failed authentication are folded
   * per source (see RepeatedRefusals); a folded one is answered without waiting on the ledger.
   * If the ledger cannot take the row, the answer is 503, as for an issuance.
   */
  private async deny(context: RefusalContext, policy: Policy, refusal: Refusal): Promise<IssuanceError> {
    const event: DeniedEvent = {
      v: 1,
      kind: 'denied',
      id: randomUUID(),
      path: context.path,
      requester: context.requester,
      policyHash: policy.hash,
      rule: refusal.rule,
      csrSha256: context.csrSha256 ?? null,
      at: new Date(this.clock()).toISOString(),
      code: refusal.code,
      reason: refusal.message,
      requestedSpiffeId: context.requestedSpiffeId ?? null,
      client: context.client ?? null,
    };
    this.observer.denied(context.path, refusal.rule, refusal.code);
    if (context.requester.kind === 'unverified' && this.repeats.admit(event) === 'folded') return refusal;
    const receipt = await this.audit.record(event satisfies AuditEvent);
    if (!receipt.ok)
      return {
        kind: 'unavailable',
        service: 'audit',
        message: `audit log unavailable: ${receipt.reason}`,
        retryAfterSeconds: receipt.retryAfterSeconds,
      };
    return refusal;
  }

  /** Writes the counts of refusals folded so far; for shutdown. */
  flushRefusals(): Promise<void> {
    return this.repeats.flush();
  }
}

function sha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** A CSR the checks refused: a key of the wrong kind is the policy's word, the rest a bad CSR. */
function csrRefusal(error: CsrError): Refusal {
  const code = error.code === 'unsupported-key' ? 'key-not-allowed' : 'bad-csr';
  return { kind: 'refused', code, rule: CSR_CHECK_RULE, message: error.message, csrError: error.code };
}
