// GET /v1/bundle: the trust bundle, as PEM or in the SPIFFE bundle format.

import type { FastifyInstance } from 'fastify';
import type { X509Certificate } from 'node:crypto';
import { pemBundle, spiffeBundle } from '../../pki/bundle.js';
import { problem, sendProblem } from '../problem.js';

export async function bundleApi(app: FastifyInstance, deps: { roots: readonly X509Certificate[] }): Promise<void> {
  const pem = pemBundle(deps.roots);
  const spiffe = JSON.stringify(spiffeBundle(deps.roots, { sequence: 1, refreshHintSeconds: 300 }));
  app.get<{ Querystring: { format?: string } }>(
    '/v1/bundle',
    {
      schema: {
        summary: 'The trust bundle: PEM, or the SPIFFE bundle format with ?format=spiffe',
        querystring: { type: 'object', properties: { format: { type: 'string', enum: ['pem', 'spiffe'] } } },
      },
    },
    async (req, reply) => {
      const format = req.query.format ?? 'pem';
      if (format === 'pem') return reply.type('application/x-pem-file').send(pem);
      if (format === 'spiffe') return reply.type('application/json').send(spiffe);
      return sendProblem(reply, problem('malformed-request', 'format must be "pem" or "spiffe"'));
    },
  );
}
