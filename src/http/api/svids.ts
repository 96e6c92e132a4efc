// POST /v1/svids: the mesh-agent issuance endpoint. Translates JSON and HTTP authentication into
// an IssuanceRequest and the Issuer's answer back into JSON; decides nothing itself.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { CSR_CHECK_RULE, type Issuer, type IssuanceError } from '../../issuance/issuer.js';
import type { UnverifiedRequester } from '../../audit/event.js';
import { fromPem, toPem } from '../../pki/certificate.js';
import type { Requester } from '../../policy/types.js';
import { authenticatePeer, type PeerTrust } from '../auth/svid-peer.js';
import type { RevocationCheck } from '../../revocation/set.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { problem, sendProblem } from '../problem.js';
import { apiProblem } from '../refusal-answers.js';

export interface SvidApiDeps {
  readonly issuer: Issuer;
  readonly tokens: TokenVerifier;
  readonly issuing: X509Certificate;
  readonly revocations: RevocationCheck;
}

interface SvidBody {
  csr: string;
  ttl?: number;
}

const bodySchema = {
  type: 'object',
  required: ['csr'],
  additionalProperties: false,
  properties: {
    csr: { type: 'string', minLength: 1, maxLength: 16384 },
    ttl: { type: 'integer', minimum: 1, maximum: 31_536_000 },
  },
} as const;

const responseSchema = {
  201: {
    type: 'object',
    properties: {
      spiffe_id: { type: 'string' },
      certificate: { type: 'string' },
      chain: { type: 'string' },
      serial: { type: 'string' },
      expires_at: { type: 'string' },
    },
  },
} as const;

export async function svidApi(app: FastifyInstance, deps: SvidApiDeps): Promise<void> {
  const chainPem = toPem(deps.issuer.issuingCertificate);
  const trust: PeerTrust = { issuing: deps.issuing, issuerKeyId: deps.issuer.issuerKeyId, revocations: deps.revocations };

  app.post<{ Body: SvidBody }>(
    '/v1/svids',
    {
      schema: {
        summary: 'Issue an X509-SVID for the authenticated workload',
        description:
          'Body: a PEM CSR and an optional lifetime. With Accept: application/pem-certificate-chain the reply is the PEM chain alone. Errors are RFC 9457 problem documents.',
        security: [{ workloadToken: [] }],
        body: bodySchema,
        response: responseSchema,
      },
    },
    async (req, reply) => {
      const auth = await authenticate(req, deps, trust);
      if (!auth.ok) {
        reply.header('www-authenticate', 'Bearer realm="workload-ca"');
        if (auth.presented === null) {
          // How HTTP authentication starts: a challenge and a count, nobody to refuse.
          deps.issuer.challenged('api');
          return sendProblem(reply, problem('unauthenticated', auth.reason));
        }
        const requester: UnverifiedRequester = { kind: 'unverified', presented: auth.presented, claimed: auth.claimed };
        const error = await deps.issuer.refuse(
          { path: 'api', requester, client: req.ip },
          { code: 'unauthenticated', rule: API_AUTHENTICATION_RULE, reason: auth.reason },
        );
        return sendIssuanceError(reply, error);
      }
      const csrs = fromPem(req.body.csr, 'CERTIFICATE REQUEST');
      if (csrs.length !== 1) {
        const error = await deps.issuer.refuse(
          { path: 'api', requester: auth.requester, client: req.ip },
          { code: 'bad-csr', rule: CSR_CHECK_RULE, reason: 'csr must hold exactly one PEM "CERTIFICATE REQUEST" block' },
        );
        return sendIssuanceError(reply, error);
      }
      const result = await deps.issuer.issue({
        path: 'api',
        requester: auth.requester,
        client: req.ip,
        csr: csrs[0]!,
        ...(req.body.ttl === undefined ? {} : { lifetimeSeconds: req.body.ttl }),
      });
      if (!result.ok) return sendIssuanceError(reply, result.error);
      const cert = result.certificate;
      if (wantsPem(req)) {
        return reply
          .code(201)
          .type('application/pem-certificate-chain')
          .send(toPem(cert.der) + chainPem);
      }
      return reply.code(201).send({
        spiffe_id: cert.spiffeId,
        certificate: toPem(cert.der),
        chain: chainPem,
        serial: cert.serial,
        expires_at: cert.notAfter.toISOString(),
      });
    },
  );
}

/** `Accept: application/pem-certificate-chain` (RFC 8555's type) gets the chain alone, for shell use. */
function wantsPem(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('application/pem-certificate-chain');
}

/** Rule name of the API's own authentication refusals. */
export const API_AUTHENTICATION_RULE = 'api:authentication';

type Auth =
  | { ok: true; requester: Requester }
  /** presented null: no credentials at all. */
  | { ok: false; reason: string; presented: UnverifiedRequester['presented'] | null; claimed: string | null };

async function authenticate(req: FastifyRequest, deps: SvidApiDeps, trust: PeerTrust): Promise<Auth> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer +([A-Za-z0-9._~+/=-]+)$/.exec(header);
    if (!m) return { ok: false, reason: 'Authorization must be "Bearer <JWT>"', presented: 'token', claimed: null };
    const verified = await deps.tokens.verify(m[1]!);
    return verified.ok ? verified : { ok: false, reason: verified.reason, presented: 'token', claimed: verified.claimed };
  }
  const peer = authenticatePeer(req.raw.socket as TLSSocket, trust);
  if (peer === null) {
    return { ok: false, reason: 'send a bearer token, or a current SVID from this CA as a TLS client certificate', presented: null, claimed: null };
  }
  return peer.ok ? peer : { ok: false, reason: peer.reason, presented: 'certificate', claimed: peer.claimed };
}

function sendIssuanceError(reply: FastifyReply, error: IssuanceError): FastifyReply {
  if (error.kind === 'unavailable') reply.header('retry-after', String(error.retryAfterSeconds));
  return sendProblem(reply, apiProblem(error));
}
