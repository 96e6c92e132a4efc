// The Issuer: the one place where a certificate request becomes a certificate.
//
// Every enrollment path (API, ACME, EST) ends here. The steps are fixed: check the CSR, ask the
// policy, sign, check what was signed against the profile, and hand the audit event to the sink.
// The certificate is returned only after the sink has accepted its event.

import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import type { AuditEvent, AuditSink, DeniedEvent } from '../audit/event.js';
import { evaluate, type Policy } from '../policy/index.js';
import type { Decision, DenialCode, EnrollmentPath, PolicyInput, Requester } from '../policy/types.js';
import { LeafProfile, assembleCertificate, keyIdentifier, newSerial, subjectOfCertificate } from '../pki/certificate.js';
import { parseCsr, verifyProofOfPossession, type CsrErrorCode, type ParsedCsr } from '../pki/csr.js';
import { publicKeyBits, signEcdsaSha256, spkiDer } from '../pki/keys.js';
import { checkLeafProfile } from '../pki/profile-check.js';

/** Backdating absorbs clock skew between the CA and relying parties. */
const BACKDATE_SECONDS = 5;

export interface IssuanceRequest {
  readonly path: EnrollmentPath;
  readonly requester: Requester;
  readonly csrDer: Uint8Array;
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
}

/** The requester's fault: recorded as a denial. */
export type Refusal =
  | { readonly kind: 'bad-csr'; readonly code: CsrErrorCode | 'bad-request'; readonly message: string }
  | { readonly kind: 'denied'; readonly code: DenialCode; readonly rule: string; readonly message: string };

export type IssuanceError =
  | Refusal
  | { readonly kind: 'unavailable'; readonly message: string; readonly retryAfterSeconds: number };

export type IssuanceResult =
  | { readonly ok: true; readonly certificate: IssuedCertificate }
  | { readonly ok: false; readonly error: IssuanceError };

/** Told about every outcome, for metrics; must not throw or block. */
export interface IssuanceObserver {
  issued(path: EnrollmentPath, rule: string, seconds: number): void;
  denied(path: EnrollmentPath, rule: string, code: string): void;
}

export interface PolicySource {
  readonly current: Policy;
}

export interface IssuingKey {
  readonly certificateDer: Buffer;
  readonly privateKey: KeyObject;
}

export class Issuer {
  private readonly profile: LeafProfile;
  /** Hex of the issuing key's identifier: with the serial, what names a certificate in the ledger. */
  readonly issuerKeyId: string;
  private readonly issuingSubject: Buffer;
  private readonly keyId: Buffer;

  constructor(
    private readonly key: IssuingKey,
    private readonly policy: PolicySource,
    private readonly audit: AuditSink,
    private readonly observer: IssuanceObserver,
    private readonly clock: () => number = Date.now,
  ) {
    const spki = spkiDer(key.privateKey);
    this.keyId = keyIdentifier(publicKeyBits(spki));
    this.issuerKeyId = this.keyId.toString('hex');
    this.issuingSubject = subjectOfCertificate(key.certificateDer);
    this.profile = new LeafProfile({ subject: this.issuingSubject, keyId: this.keyId });
  }

  /** The issuing CA certificate, DER, for chains. */
  get issuingCertificate(): Buffer {
    return this.key.certificateDer;
  }

  async issue(request: IssuanceRequest): Promise<IssuanceResult> {
    const started = performance.now();
    const policy = this.policy.current;
    const parsed = parseCsr(request.csrDer);
    if (!parsed.ok) {
      return this.refuse(request, policy, null, { kind: 'bad-csr', code: parsed.error.code, message: parsed.error.message });
    }
    const csr = parsed.csr;
    const csrHash = createHash('sha256').update(csr.der).digest('hex');
    if (!verifyProofOfPossession(csr)) {
      return this.refuse(request, policy, csrHash, {
        kind: 'bad-csr',
        code: 'bad-signature',
        message: 'CSR signature does not verify with its own public key',
      });
    }

    const input = this.policyInput(request, csr);
    if (!input.ok) return this.refuse(request, policy, csrHash, input.error);
    const decision: Decision = evaluate(policy, input.value);
    if (!decision.allowed) {
      return this.refuse(request, policy, csrHash, {
        kind: 'denied',
        code: decision.code,
        rule: decision.rule,
        message: decision.reason,
      }, input.value.spiffeId);
    }

    const now = this.clock();
    const notBefore = new Date(Math.floor(now / 1000) * 1000 - BACKDATE_SECONDS * 1000);
    const notAfter = new Date(Math.floor(now / 1000) * 1000 + decision.lifetimeSeconds * 1000);
    const serial = newSerial();
    const names = { uris: [decision.spiffeId], dnsNames: decision.dnsNames, ipAddresses: decision.ipAddresses };
    const tbs = this.profile.tbs({ serial, notBefore, notAfter, spki: csr.spki, publicKeyBits: csr.publicKeyBits, names });
    const der = assembleCertificate(tbs, signEcdsaSha256(this.key.privateKey, tbs));

    const problem = checkLeafProfile(der, {
      issuerSubject: this.issuingSubject,
      issuerKeyId: this.keyId,
      spki: csr.spki,
      names,
      notBefore,
      notAfter,
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
      issuerKeyId: this.issuerKeyId,
      spiffeId: decision.spiffeId,
      dnsNames: decision.dnsNames,
      ipAddresses: decision.ipAddresses,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      certificate: der.toString('base64'),
    });
    if (!receipt.ok) {
      // The certificate exists only in this function's memory; dropping it here means it was never issued.
      return {
        ok: false,
        error: { kind: 'unavailable', message: `audit log unavailable: ${receipt.reason}`, retryAfterSeconds: receipt.retryAfterSeconds },
      };
    }
    this.observer.issued(request.path, decision.rule, (performance.now() - started) / 1000);
    return { ok: true, certificate };
  }

  private policyInput(
    request: IssuanceRequest,
    csr: ParsedCsr,
  ): { ok: true; value: PolicyInput } | { ok: false; error: Refusal } {
    const uris = csr.requested.uris;
    if (request.spiffeId === undefined && uris.length > 1) {
      return { ok: false, error: { kind: 'bad-csr', code: 'bad-request', message: 'CSR asks for more than one URI SAN; an X509-SVID has exactly one' } };
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

  private async refuse(
    request: IssuanceRequest,
    policy: Policy,
    csrHash: string | null,
    error: Refusal,
    requestedSpiffeId: string | null = null,
  ): Promise<IssuanceResult> {
    const rule = error.kind === 'denied' ? error.rule : 'csr-check';
    const event: DeniedEvent = {
      v: 1,
      kind: 'denied',
      id: randomUUID(),
      path: request.path,
      requester: request.requester,
      policyHash: policy.hash,
      rule,
      csrSha256: csrHash,
      at: new Date(this.clock()).toISOString(),
      code: error.kind === 'denied' ? error.code : 'bad-csr',
      reason: error.message,
      requestedSpiffeId,
    };
    this.observer.denied(request.path, rule, event.code);
    const receipt = await this.audit.record(event satisfies AuditEvent);
    if (!receipt.ok) {
      return { ok: false, error: { kind: 'unavailable', message: `audit log unavailable: ${receipt.reason}`, retryAfterSeconds: receipt.retryAfterSeconds } };
    }
    return { ok: false, error };
  }
}
