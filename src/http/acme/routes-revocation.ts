// revokeCert (RFC 8555 §7.6) and renewalInfo (ARI, RFC 9773).

import { X509Certificate, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { readCertificateNames } from '../../pki/certificate-names.js';
import type { RevokedBy } from '../../revocation/event.js';
import { sendJson, type AcmeContext } from './context.js';
import { isHostName } from './identifiers.js';
import { fail } from './problems.js';
import { PATHS } from './urls.js';

/**
 * Reasons a subscriber may give (RFC 5280 §5.3.1): unspecified, keyCompromise, affiliationChanged,
 * superseded, cessationOfOperation, privilegeWithdrawn. The others are the CA's to assert.
 */
const SUBSCRIBER_REASONS = new Set([0, 1, 3, 4, 5, 9]);

/** Serials are named in lower-case hex of their DER INTEGER content, as the ledger stores them. */
export const serialHex = (hex: string): string => (hex.length % 2 ? `0${hex}` : hex).toLowerCase();

export function revocationRoutes(app: FastifyInstance, ctx: AcmeContext): void {
  const { store, issuing, issuer } = ctx.deps;

  app.post(PATHS.revokeCert, async (req, reply) => {
    const signed = await ctx.verify(req, 'either');
    const p = signed.payload;
    if (p === null || typeof p.certificate !== 'string' || !/^[A-Za-z0-9_-]+$/.test(p.certificate)) {
      fail('malformed', '"certificate" must be the base64url DER of the certificate to revoke');
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(p!.certificate as string, 'base64url'));
    } catch {
      fail('malformed', '"certificate" is not a DER X.509 certificate');
    }
    if (!cert!.checkIssued(issuing) || !cert!.verify(issuing.publicKey)) fail('unauthorized', 'the certificate was not issued by this CA');
    const reason = p!.reason ?? 0;
    if (typeof reason !== 'number' || !SUBSCRIBER_REASONS.has(reason)) {
      fail('badRevocationReason', `reason must be one of ${[...SUBSCRIBER_REASONS].join(', ')} (RFC 5280 CRLReason)`);
    }
    const serial = serialHex(cert!.serialNumber);

    let revokedBy: Extract<RevokedBy, { kind: 'account' | 'certificate-key' }>;
    if (signed.by === 'jwk') {
      // Signed with the certificate's own key: whoever holds it may revoke it.
      const same = signed.key.export({ format: 'der', type: 'spki' }).equals(cert!.publicKey.export({ format: 'der', type: 'spki' }));
      if (!same) fail('unauthorized', "the request is signed neither by an account nor by the certificate's key");
      revokedBy = { kind: 'certificate-key' };
    } else {
      const account = signed.account;
      const record = await store.certificate(serial);
      const names = dnsNamesOf(cert!);
      const allowed =
        record?.accountId === account.id || (names.length > 0 && (await store.accountHoldsAuthorizations(account.id, names, ctx.now())));
      if (!allowed) fail('unauthorized', 'this account neither ordered the certificate nor holds valid authorizations for all its names');
      revokedBy = { kind: 'account', accountId: account.id };
    }
    const { eventId } = await store.revoke({
      revokedBy,
      reason: reason as number,
      selector: { serial },
      targets: [{ issuerKeyId: issuer.issuerKeyId, serial, notAfter: Date.parse(cert!.validTo) }],
    });
    if (eventId === null) fail('alreadyRevoked', `certificate ${serial} is already revoked`);
    req.log.info({ serial, reason, revokedBy, eventId }, 'certificate revoked');
    return reply.code(200).send();
  });

  app.get<{ Params: { id: string } }>(`${PATHS.renewalInfo}/:id`, async (req, reply) => {
    const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(req.params.id);
    if (!m) fail('malformed', 'a renewalInfo path names a certificate as base64url(AKI keyIdentifier) "." base64url(serial)');
    const aki = Buffer.from(m![1]!, 'base64url').toString('hex');
    const serial = serialHex(Buffer.from(m![2]!, 'base64url').toString('hex'));
    const record = aki === issuer.issuerKeyId ? await store.certificate(serial) : null;
    if (record === null) fail('malformed', 'no certificate with that identifier was issued here', { status: 404 });
    const lifetime = record!.notAfter - record!.notBefore;
    const revoked = await store.revocation(issuer.issuerKeyId, serial);
    let start: number;
    let end: number;
    if (revoked !== null) {
      // Renew now: a window already open.
      start = ctx.now() - 60_000;
      end = ctx.now() + 60_000;
    } else {
      // A window inside the middle third of the lifetime, placed by the serial so that a fleet
      // issued in one minute does not renew in one minute.
      const spread = createHash('sha256').update(serial).digest().readUInt32BE(0) / 0x1_0000_0000;
      const width = lifetime / 12;
      start = record!.notBefore + lifetime / 3 + spread * (lifetime / 3 - width);
      end = start + width;
    }
    reply.header('Retry-After', String(Math.max(60, Math.min(21_600, Math.floor(lifetime / 1000 / 10)))));
    return sendJson(reply, 200, { suggestedWindow: { start: new Date(start).toISOString(), end: new Date(end).toISOString() } });
  });
}

/**
 * The DNS names of a certificate's subjectAltName, read from its DER with the strict reader (a
 * revocation right rests on them). A SAN that does not decode names nothing: only the ordering
 * account or the certificate's key may revoke such a certificate.
 */
function dnsNamesOf(cert: X509Certificate): string[] {
  const read = readCertificateNames(cert.raw);
  if (!read.ok) return [];
  return read.names.dnsNames.map((n) => n.toLowerCase()).filter(isHostName);
}
