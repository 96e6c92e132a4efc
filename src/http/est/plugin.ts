// EST (RFC 7030, with RFC 8951) under /.well-known/est/ and /.well-known/est/<label>/. Translates
// the wire format and the client's credentials into an IssuanceRequest and the Issuer's answer
// back; decides nothing about identities or lifetimes itself. Its content-type parsers, error
// and not-found handlers are confined to this plugin, so other routes keep their JSON formats.
// Every reply, success or error, goes out through writeEstReply (canonical header names).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { createHash, type X509Certificate } from 'node:crypto';
import type { IssuanceError, Issuer, PolicySource } from '../../issuance/issuer.js';
import { parseCsr, verifyProofOfPossession, type ParsedCsr } from '../../pki/csr.js';
import { certsOnly } from '../../pki/pkcs7.js';
import type { TrustAnchors } from './anchors.js';
import { authenticate, UNAUTHENTICATED, type EstRequester } from './authenticate.js';
import { checkChannelBinding, mayCarryChallengePassword } from './channel-binding.js';
import { csrAttributes } from './csrattrs.js';
import { checkSameNames } from './reenroll.js';
import { EST_RULES, type EstRefusal, type RefusalRecorder } from './refusals.js';
import { registrationAuthority } from './registration-authority.js';
import { sendEstError, type EstError } from './reply.js';
import { makeServerKey, multipartKeyAndCertificate } from './serverkeygen.js';
import type { BasicUsers } from './users.js';
import { checkTransferEncoding, decodeBase64Body, encodeBase64Body, mediaType } from './wire.js';
import { writeEstReply } from './writer.js';

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
  /** What /cacerts publishes: the trust anchors (roots) and the issuing CA, DER. */
  readonly caCertificates: readonly Uint8Array[];
  readonly users: BasicUsers;
  /** Client-certificate trust anchors for the unlabeled path, and per configured label. */
  readonly anchors: TrustAnchors;
  /** Whether the unlabeled path trusts registration authorities among those clients. */
  readonly trustRegistrationAuthorities: boolean;
  readonly labels: ReadonlyMap<string, EstLabel>;
  readonly refusals: RefusalRecorder;
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
    const error: EstError =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? { status: 413, message: `the request body is larger than ${EST_BODY_LIMIT} bytes` }
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.code === 'FST_ERR_CTP_MISSING_CONTENT_TYPE'
          ? { status: 415, message: 'send Content-Type: application/pkcs10' }
          : err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500
            ? { status: 400, message: err.message }
            : { status: 500, message: 'internal error' };
    if (error.status === 500) req.log.error({ err }, 'EST request failed');
    const a = admitted.get(req);
    if (a !== undefined && error.status !== 500) {
      return refuse(reply, deps, a.requester, error, { rule: EST_RULES.request, code: 'bad-request', reason: error.message });
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
    const requester: EstRequester = { kind: 'est-client', name: UNAUTHENTICATED, label: shownLabel, certificate: null, auth: 'none', spiffeId: null, operation };
    const error: EstError = { status: 404, message: `no EST label ${JSON.stringify(raw)} is configured` };
    return refuse(reply, deps, requester, error, { rule: EST_RULES.request, code: 'bad-request', reason: error.message });
  }
  const configured = label === null ? null : deps.labels.get(label)!;
  const anchors = configured?.anchors ?? deps.anchors;
  const socket = req.raw.socket as TLSSocket;
  const auth = await authenticate({ socket, authorization: req.headers.authorization, label, anchors, issuing: deps.issuing, users: deps.users });
  if (!auth.ok) {
    const requester = { ...auth.requester, operation };
    if (!auth.presented) {
      // The first half of HTTP authentication (libest always starts so): challenge, count, no denial.
      deps.refusals.challenged(requester);
      return sendEstError(reply, { status: 401, message: auth.reason });
    }
    return refuse(reply, deps, requester, { status: 401, message: auth.reason }, { rule: EST_RULES.authentication, code: 'unauthenticated', reason: auth.reason });
  }
  const trustsRas = configured?.trustRegistrationAuthorities ?? deps.trustRegistrationAuthorities;
  const voucher = registrationAuthority(trustsRas, auth.certificate, auth.requester);
  const requester: EstRequester = { ...auth.requester, operation, ...(voucher === null ? {} : { popVouchedBy: voucher }) };
  if (operation === 'simplereenroll' && requester.auth !== 'svid') {
    const reason = 'simplereenroll needs the current, unexpired certificate from this CA as the TLS client certificate';
    return refuse(reply, deps, requester, { status: 401, message: reason }, { rule: EST_RULES.authentication, code: 'unauthenticated', reason });
  }
  admitted.set(req, { label, requester, certificate: auth.certificate });
}

async function enroll(req: FastifyRequest, reply: FastifyReply, deps: EstDeps, operation: EnrollOperation): Promise<FastifyReply> {
  const { requester, certificate } = admitted.get(req)!;
  const badRequest = (error: EstError, code: EstRefusal['code'] = 'bad-request') =>
    refuse(reply, deps, requester, error, { rule: EST_RULES.request, code, reason: error.message });

  if (mediaType(req.headers['content-type']) !== 'application/pkcs10') {
    return badRequest({ status: 415, message: `send Content-Type: application/pkcs10 (got ${req.headers['content-type'] ?? 'none'})` });
  }
  const encoding = checkTransferEncoding(req.headers['content-transfer-encoding']);
  if (encoding !== null) return badRequest(encoding);
  const body = req.body;
  const decoded = decodeBase64Body(Buffer.isBuffer(body) ? body : Buffer.alloc(0));
  if (!decoded.ok) return badRequest(decoded.error, 'bad-csr');
  const der = decoded.der;

  // Only what EST itself adds is checked here; the CSR proper is the Issuer's to judge. A CSR that
  // does not parse or verify goes straight to it, to be refused and recorded like on every path.
  let csr: ParsedCsr | null = null;
  if (operation !== 'simpleenroll' || mayCarryChallengePassword(der)) {
    const parsed = parseCsr(der);
    if (parsed.ok && verifyProofOfPossession(parsed.csr)) csr = parsed.csr;
  }
  if (csr !== null) {
    const csrSha256 = createHash('sha256').update(der).digest('hex');
    // An RA's forwarded CSR carries the device's binding to the RA's downstream connection,
    // which the RA checked; its signature (proof of possession of the key) is still verified.
    if (csr.challengePassword !== null && requester.popVouchedBy === undefined) {
      const binding = checkChannelBinding(req.raw.socket as TLSSocket, csr.challengePassword);
      if (!binding.ok) {
        return refuse(reply, deps, requester, { status: 401, message: binding.reason }, {
          rule: EST_RULES.channelBinding,
          code: 'unauthenticated',
          reason: binding.reason,
          csrSha256,
        });
      }
    }
    if (operation === 'simplereenroll') {
      const same = checkSameNames(certificate!, der, csr);
      if (!same.ok) {
        return refuse(reply, deps, requester, { status: 403, message: same.reason }, {
          rule: EST_RULES.reenroll,
          code: 'identity-not-allowed',
          reason: same.reason,
          csrSha256,
          requestedSpiffeId: csr.requested.uris[0] ?? null,
        });
      }
    }
  }

  const serverKey = operation === 'serverkeygen' && csr !== null ? await makeServerKey(der, csr) : null;
  const result = await deps.issuer.issue({ path: 'est', requester, csrDer: serverKey?.csrDer ?? der });
  if (!result.ok) return sendEstError(reply, estErrorFor(result.error));

  const pkcs7 = certsOnly([result.certificate.der]);
  if (serverKey !== null) {
    const multipart = multipartKeyAndCertificate(serverKey.privateKey, pkcs7);
    return writeEstReply(reply, 200, { 'Content-Type': multipart.contentType }, multipart.body);
  }
  return writeEstReply(reply, 200, { 'Content-Type': PKCS7_CERTS_ONLY, 'Content-Transfer-Encoding': 'base64' }, encodeBase64Body(pkcs7));
}

/** Records the refusal, then answers with it; if the ledger cannot take the record, 503. */
async function refuse(reply: FastifyReply, deps: EstDeps, requester: EstRequester, error: EstError, refusal: EstRefusal): Promise<FastifyReply> {
  const recorded = await deps.refusals.record(requester, refusal);
  if (!recorded.ok) {
    return sendEstError(reply, { status: 503, message: `audit log unavailable: ${recorded.reason}`, retryAfterSeconds: recorded.retryAfterSeconds });
  }
  return sendEstError(reply, error);
}

function estErrorFor(error: IssuanceError): EstError {
  switch (error.kind) {
    case 'unavailable':
      return { status: 503, message: `${error.message}; nothing was issued`, retryAfterSeconds: error.retryAfterSeconds };
    case 'bad-csr':
      return { status: 400, message: `bad CSR (${error.code}): ${error.message}` };
    case 'denied':
      return { status: error.code === 'key-not-allowed' ? 400 : 403, message: `${error.code}: ${error.message} (rule ${error.rule})` };
  }
}
