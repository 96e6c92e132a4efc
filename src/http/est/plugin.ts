// EST (RFC 7030, with RFC 8951) under /.well-known/est/ and /.well-known/est/<label>/. Translates
// the wire format and the client's credentials into an IssuanceRequest and the Issuer's answer
// back; decides nothing about identities or lifetimes itself. Its content-type parsers, error
// and not-found handlers are confined to this plugin, so other routes keep their JSON formats.
// Every reply, success or error, goes out through writeEstReply (canonical header names).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { createHash, type X509Certificate } from 'node:crypto';
import type { UnverifiedRequester } from '../../audit/event.js';
import type { Issuer, PolicySource, RefusalReason } from '../../issuance/issuer.js';
import type { CheckedCsr } from '../../pki/csr.js';
import { certsOnly } from '../../pki/pkcs7.js';
import type { TrustAnchors } from './anchors.js';
import { authenticate, type EstRequester } from './authenticate.js';
import { checkChannelBinding, mayCarryChallengePassword } from './channel-binding.js';
import { csrAttributes } from './csrattrs.js';
import { checkSameNames } from './reenroll.js';
import { EST_RULES } from './rules.js';
import { estError } from '../refusal-answers.js';
import { FRAMEWORK_STATUS, classifyFrameworkError, frameworkDetail, type FrameworkError } from '../framework-errors.js';
import { registrationAuthority } from './registration-authority.js';
import { sendEstError, type EstError } from './reply.js';
import { makeServerKey, multipartKeyAndCertificate } from './serverkeygen.js';
import type { BasicUsers } from './users.js';
import { checkTransferEncoding, decodeBase64Body, encodeBase64Body, mediaType } from './wire.js';
import { writeEstReply } from './writer.js';
import type { RevocationCheck } from '../../revocation/set.js';

export const EST_PREFIX = '/.well-known/est';
/** A base64 CSR at the CSR size limit (8 KiB DER) with line breaks fits with room to spare. */
const EST_BODY_LIMIT = 32 * 1024;
const LABEL = /^[A-Za-z0-9_-]{1,64}$/;

export const ENROLL_OPERATIONS = ['simpleenroll', 'simplereenroll', 'serverkeygen'] as const;
type EnrollOperation = (typeof ENROLL_OPERATIONS)[number];

/** A configured label: whose client certificates it accepts, and whether it trusts RAs among them. */
export interface EstLabel {
  readonly anchors: TrustAnchors;
  readonly trustRegistrationAuthorities: boolean;
}

export interface EstDeps {
  readonly issuer: Issuer;
  readonly policy: PolicySource;
  /** The issuing CA, which a client certificate must come from to count as "from this CA". */
  readonly issuing: X509Certificate;
  /** Revoked certificates of this CA: a client certificate among them authenticates nothing. */
  readonly revocations: RevocationCheck;
  /** What /cacerts publishes: the trust anchors (roots) and the issuing CA, DER. */
  readonly caCertificates: readonly Uint8Array[];
  readonly users: BasicUsers;
  /** Client-certificate trust anchors for the unlabeled path, and per configured label. */
  readonly anchors: TrustAnchors;
  /** Whether the unlabeled path trusts registration authorities among those clients. */
  readonly trustRegistrationAuthorities: boolean;
  readonly labels: ReadonlyMap<string, EstLabel>;
}

/** What the onRequest hook established, for the handler (and the error handler) to use. */
interface Admitted {
  readonly label: string | null;
  readonly requester: EstRequester;
  readonly certificate: X509Certificate | null;
}
const admitted = new WeakMap<FastifyRequest, Admitted>();

const PKCS7_CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only';

export async function estApi(app: FastifyInstance, deps: EstDeps): Promise<void> {
  const cacerts = encodeBase64Body(certsOnly(deps.caCertificates));

  // Bodies are read raw and judged by the handler, so a wrong media type is a 415 in EST's own
  // format (and a recorded refusal) rather than a parser error in the API's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: EST_BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.setErrorHandler(async (err: { code?: string; statusCode?: number; message: string }, req, reply) => {
    const e = classifyFrameworkError(err);
    const error = estFrameworkError(e);
    if (e.kind === 'internal') req.log.error({ err }, 'EST request failed');
    const a = admitted.get(req);
    if (a !== undefined && error.status !== 500) {
      return refuse(req, reply, deps, a.requester, error, { rule: EST_RULES.request, code: 'bad-request', reason: error.message });
    }
    return sendEstError(reply, error);
  });
  // Async, like every handler here: a hijacked reply returned from a sync handler would be sent twice.
  app.setNotFoundHandler(async (req, reply) => sendEstError(reply, { status: 404, message: `no EST operation at ${req.method} ${req.url}` }));

  for (const base of ['', '/:label']) {
    app.get(`${base}/cacerts`, async (req, reply) => {
      if (labelOf(req, deps) === undefined) return unknownLabel(reply, req);
      return writeEstReply(reply, 200, { 'Content-Type': 'application/pkcs7-mime', 'Content-Transfer-Encoding': 'base64' }, cacerts);
    });
    app.get(`${base}/csrattrs`, async (req, reply) => {
      if (labelOf(req, deps) === undefined) return unknownLabel(reply, req);
      const attrs = csrAttributes(deps.policy.current.guardrails.keyAlgorithms);
      return writeEstReply(reply, 200, { 'Content-Type': 'application/csrattrs', 'Content-Transfer-Encoding': 'base64' }, encodeBase64Body(attrs));
    });
    for (const operation of ENROLL_OPERATIONS) {
      app.post(`${base}/${operation}`, { onRequest: (req, reply) => admit(req, reply, deps, operation) }, (req, reply) =>
        enroll(req, reply, deps, operation),
      );
    }
  }
}

/** The label named in the path: null for none, undefined for one that is not configured. */
function labelOf(req: FastifyRequest, deps: EstDeps): string | null | undefined {
  const label = (req.params as { label?: string }).label;
  if (label === undefined) return null;
  return LABEL.test(label) && deps.labels.has(label) ? label : undefined;
}

function unknownLabel(reply: FastifyReply, req: FastifyRequest): FastifyReply {
  return sendEstError(reply, { status: 404, message: `no EST label ${JSON.stringify((req.params as { label?: string }).label)} is configured` });
}

/** Authentication first: an unauthenticated client learns nothing about its body. */
async function admit(req: FastifyRequest, reply: FastifyReply, deps: EstDeps, operation: EnrollOperation): Promise<FastifyReply | void> {
  const label = labelOf(req, deps);
  const raw = (req.params as { label?: string }).label;
  const shownLabel = label ?? (raw !== undefined && LABEL.test(raw) ? raw : null);
  if (label === undefined) {
    // Refused before anyone authenticated: recorded against what is known, the label asked for.
    const requester: UnverifiedRequester = { kind: 'unverified', presented: 'none', claimed: shownLabel === null ? null : `label ${shownLabel}` };
    const error: EstError = { status: 404, message: `no EST label ${JSON.stringify(raw)} is configured` };
    return refuse(req, reply, deps, requester, error, { rule: EST_RULES.request, code: 'bad-request', reason: error.message });
  }
  const configured = label === null ? null : deps.labels.get(label)!;
  const anchors = configured?.anchors ?? deps.anchors;
  const socket = req.raw.socket as TLSSocket;
  const trust = { issuing: deps.issuing, issuerKeyId: deps.issuer.issuerKeyId, revocations: deps.revocations };
  const auth = await authenticate({
    socket,
    authorization: req.headers.authorization,
    label,
    anchors,
    issuing: deps.issuing,
    users: deps.users,
    trust,
  });
  if (!auth.ok) {
    if (auth.presented === null) {
      // The first half of HTTP authentication (libest always starts so): challenge, count, no denial.
      deps.issuer.challenged('est', label ?? '');
      return sendEstError(reply, { status: 401, message: auth.reason });
    }
    const requester: UnverifiedRequester = { kind: 'unverified', presented: auth.presented, claimed: auth.claimed };
    return refuse(
      req,
      reply,
      deps,
      requester,
      { status: 401, message: auth.reason },
      { rule: EST_RULES.authentication, code: 'unauthenticated', reason: auth.reason },
    );
  }
  const trustsRas = configured?.trustRegistrationAuthorities ?? deps.trustRegistrationAuthorities;
  const voucher = registrationAuthority(trustsRas, auth.certificate, auth.requester);
  const requester: EstRequester = { ...auth.requester, operation, ...(voucher === null ? {} : { popVouchedBy: voucher }) };
  if (operation === 'simplereenroll' && requester.auth !== 'svid') {
    const reason = 'simplereenroll needs the current, unexpired certificate from this CA as the TLS client certificate';
    return refuse(req, reply, deps, requester, { status: 401, message: reason }, { rule: EST_RULES.authentication, code: 'unauthenticated', reason });
  }
  admitted.set(req, { label, requester, certificate: auth.certificate });
}

async function enroll(req: FastifyRequest, reply: FastifyReply, deps: EstDeps, operation: EnrollOperation): Promise<FastifyReply> {
  const { requester, certificate } = admitted.get(req)!;
  const context = { path: 'est' as const, requester, client: req.ip };
  const badRequest = (error: EstError, code: RefusalReason['code'] = 'bad-request') =>
    refuse(req, reply, deps, requester, error, { rule: EST_RULES.request, code, reason: error.message });

  if (mediaType(req.headers['content-type']) !== 'application/pkcs10') {
    return badRequest({ status: 415, message: `send Content-Type: application/pkcs10 (got ${req.headers['content-type'] ?? 'none'})` });
  }
  const encoding = checkTransferEncoding(req.headers['content-transfer-encoding']);
  if (encoding !== null) return badRequest(encoding);
  const body = req.body;
  const decoded = decodeBase64Body(Buffer.isBuffer(body) ? body : Buffer.alloc(0));
  if (!decoded.ok) return badRequest(decoded.error, 'bad-csr');
  const der = decoded.der;

  // What EST itself adds (channel binding, reenroll's same names, serverkeygen's new key) needs
  // the CSR read first: it is checked once, by the Issuer, and handed back to it as checked. A
  // plain simpleenroll goes to the Issuer as received.
  let csr: CheckedCsr | null = null;
  if (operation !== 'simpleenroll' || mayCarryChallengePassword(der)) {
    const accepted = await deps.issuer.acceptCsr(context, der);
    if (!accepted.ok) return sendEstError(reply, estError(accepted.error));
    csr = accepted.csr;
    // Only a refusal here records the hash; an issuance records the Issuer's own.
    const csrSha256 = (): string => createHash('sha256').update(der).digest('hex');
    // An RA's forwarded CSR carries the device's binding to the RA's downstream connection,
    // which the RA checked; its signature (proof of possession of the key) is still verified.
    if (csr.challengePassword !== null && requester.popVouchedBy === undefined) {
      const binding = checkChannelBinding(req.raw.socket as TLSSocket, csr.challengePassword);
      if (!binding.ok) {
        const error = await deps.issuer.refuse(
          { ...context, csrSha256: csrSha256() },
          { rule: EST_RULES.channelBinding, code: 'unauthenticated', reason: binding.reason },
        );
        return sendEstError(reply, estError(error));
      }
    }
    if (operation === 'simplereenroll') {
      const same = checkSameNames(certificate!, csr);
      if (!same.ok) {
        const error = await deps.issuer.refuse(
          { ...context, csrSha256: csrSha256(), requestedSpiffeId: csr.requested.uris[0] ?? null },
          { rule: EST_RULES.reenroll, code: 'identity-not-allowed', reason: same.reason },
        );
        return sendEstError(reply, estError(error));
      }
    }
  }

  const serverKey = operation === 'serverkeygen' && csr !== null ? await makeServerKey(csr) : null;
  const result = await deps.issuer.issue({ ...context, csr: serverKey?.csrDer ?? csr ?? der });
  if (!result.ok) return sendEstError(reply, estError(result.error));

  const pkcs7 = certsOnly([result.certificate.der]);
  if (serverKey !== null) {
    const multipart = multipartKeyAndCertificate(serverKey.privateKey, pkcs7);
    return writeEstReply(reply, 200, { 'Content-Type': multipart.contentType }, multipart.body);
  }
  return writeEstReply(reply, 200, { 'Content-Type': PKCS7_CERTS_ONLY, 'Content-Transfer-Encoding': 'base64' }, encodeBase64Body(pkcs7));
}

/**
 * Records a refusal EST makes itself, then answers with `error`, which says it in EST's terms
 * (a 404 for an unknown label, a 415, ...); if the ledger cannot take the record, 503.
 */
async function refuse(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: EstDeps,
  requester: EstRequester | UnverifiedRequester,
  error: EstError,
  why: RefusalReason,
): Promise<FastifyReply> {
  const outcome = await deps.issuer.refuse({ path: 'est', requester, client: req.ip }, why);
  return sendEstError(reply, outcome.kind === 'unavailable' ? estError(outcome) : error);
}

/** A framework error as EST says it: the status with a line of text. */
function estFrameworkError(e: FrameworkError): EstError {
  return { status: FRAMEWORK_STATUS[e.kind], message: frameworkDetail(e, { bodyLimit: EST_BODY_LIMIT, mediaType: 'application/pkcs10' }) };
}

/** For errors answered before the plugin's routes (the router's), in EST's format. */
export function sendEstFrameworkError(reply: FastifyReply, e: FrameworkError): FastifyReply {
  return sendEstError(reply, estFrameworkError(e));
}
