// GET /crl/<issuerKeyId>.crl: each issuing CA's current CRL, DER (or PEM), served from memory
// with the validators caches and relying parties revalidate with.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ACTIVE_ISSUER, CRL_PREFIX } from '../../ca/crl-url.js';
import type { CrlCatalog } from '../../ca/crl-publisher.js';
import type { PublishedCrl } from '../../ca/crl-store.js';
import { toPem } from '../../pki/certificate.js';
import { problem, sendProblem } from '../problem.js';

export interface CrlRouteDeps {
  readonly crls: CrlCatalog;
  /** Whose CRL `/crl/active.crl` is: the issuer that signs today. */
  readonly activeIssuerKeyId: string;
  /** Cache-Control max-age, never past the CRL's nextUpdate. */
  readonly maxAgeSeconds: number;
  readonly now?: () => number;
}

const NAME = /^([0-9a-fA-F]{2,128}|active)(?:\.(crl|pem))?$/;

export async function crlApi(app: FastifyInstance, deps: CrlRouteDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  app.get<{ Params: { name: string } }>(
    `${CRL_PREFIX}/:name`,
    {
      schema: {
        summary: "An issuing CA's CRL: <issuer key id>.crl (DER), .pem, or without a suffix as Accept asks; active.crl is the current issuer's",
        params: { type: 'object', properties: { name: { type: 'string', maxLength: 140 } } },
      },
    },
    async (req, reply) => {
      const m = NAME.exec(req.params.name);
      if (!m) return sendProblem(reply, problem('not-found', `no CRL named ${req.params.name}: ask for <issuer key id>.crl or .pem`));
      const issuerKeyId = m[1] === ACTIVE_ISSUER ? deps.activeIssuerKeyId : m[1]!.toLowerCase();
      const crl = deps.crls.current(issuerKeyId);
      if (!crl) {
        // This replica signs for the active issuer, so its CRL is only missing while the first one is being made.
        if (issuerKeyId !== deps.activeIssuerKeyId) return sendProblem(reply, problem('not-found', `no CRL for issuer ${issuerKeyId}`));
        return sendProblem(reply.header('retry-after', '5'), problem('crl-unavailable', 'the CRL is being made; retry in a few seconds'));
      }
      const pem = m[2] === 'pem' || (m[2] === undefined && wantsPem(req.headers.accept));
      return send(
        req,
        reply,
        crl,
        pem,
        m[2] === undefined,
        Math.max(0, Math.min(deps.maxAgeSeconds, Math.floor((crl.nextUpdate.getTime() - now()) / 1000))),
      );
    },
  );
}

function wantsPem(accept: string | undefined): boolean {
  return accept !== undefined && /application\/x-pem-file/i.test(accept) && !/application\/pkix-crl/i.test(accept);
}

function send(req: FastifyRequest, reply: FastifyReply, crl: PublishedCrl, pem: boolean, negotiated: boolean, maxAge: number): FastifyReply {
  // Strong: the bytes of each representation are fixed by the CRL's hash.
  const etag = `"${crl.sha256.slice(0, 32)}${pem ? '-pem' : ''}"`;
  reply.header('etag', etag).header('last-modified', crl.thisUpdate.toUTCString()).header('cache-control', `public, max-age=${maxAge}`);
  if (negotiated) reply.header('vary', 'Accept');
  if (notModified(req, etag, crl.thisUpdate.getTime())) return reply.code(304).send();
  return pem ? reply.type('application/x-pem-file').send(toPem(crl.der, 'X509 CRL')) : reply.type('application/pkix-crl').send(crl.der);
}

/** RFC 9110 §13.1: If-None-Match (weak comparison) wins; If-Modified-Since is read only without it. */
function notModified(req: FastifyRequest, etag: string, lastModified: number): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
  const ims = req.headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && lastModified <= since;
}
