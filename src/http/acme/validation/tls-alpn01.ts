// tls-alpn-01 (RFC 8737): a TLS handshake on the configured port that offers only the
// acme-tls/1 protocol, with the name being validated in SNI, must come back with that protocol
// negotiated and a challenge certificate for this key authorization.

import * as tls from 'node:tls';
import { checkChallengeCertificate } from './challenge-certificate.js';
import type { ValidationContext } from './context.js';
import { keyAuthorizationDigest } from './digest.js';
import { attemptFailed, connectToName, hostPort, type Attempt } from './endpoint.js';
import { failed, type ValidationOutcome } from './types.js';

export const ACME_TLS_ALPN = 'acme-tls/1';

interface Handshake {
  readonly address: string;
  readonly alpn: string | false;
  readonly certificate: Buffer | null;
}

export async function validateTlsAlpn01(ctx: ValidationContext, domain: string, keyAuthorization: string): Promise<ValidationOutcome> {
  const port = ctx.settings.tlsAlpn01Port;
  const shaken = await connectToName(ctx, domain, `TLS handshake with ${domain} on port ${port}`, (address) => handshake(ctx, domain, address, port));
  if (!shaken.ok) return shaken;
  const { address, alpn, certificate } = shaken.value;
  const where = `${domain} [${hostPort(address, port)}]`;
  if (alpn !== ACME_TLS_ALPN) {
    return failed('tls', `${where} did not negotiate ${ACME_TLS_ALPN} (negotiated ${alpn === false ? 'no protocol' : JSON.stringify(alpn)})`);
  }
  if (certificate === null) return failed('unauthorized', `${where} presented no certificate`);
  const problem = checkChallengeCertificate(certificate, domain, keyAuthorizationDigest(keyAuthorization));
  if (problem !== null) return failed('unauthorized', `Incorrect validation certificate for tls-alpn-01 challenge from ${where}: ${problem}`);
  return { ok: true, address };
}

function handshake(ctx: ValidationContext, domain: string, address: string, port: number): Promise<Attempt<Handshake>> {
  const where = `${hostPort(address, port)} (${domain})`;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: Attempt<Handshake>): void => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', abort);
      socket.destroy();
      resolve(result);
    };
    const abort = (): void =>
      settle({ ok: false, unreachable: false, error: { type: 'connection', detail: `Timeout during TLS handshake with ${where}` } });
    const socket = tls.connect({
      host: address,
      port,
      servername: domain,
      ALPNProtocols: [ACME_TLS_ALPN],
      // The challenge certificate is self-signed by design; what it must contain is checked after.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    ctx.signal.addEventListener('abort', abort, { once: true });
    if (ctx.signal.aborted) abort();
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      settle({ ok: true, value: { address, alpn: socket.alpnProtocol ?? false, certificate: peer?.raw ?? null } });
    });
    socket.once('error', (err) => settle(attemptFailed(err, where)));
    socket.once('close', () =>
      settle({ ok: false, unreachable: false, error: { type: 'tls', detail: `Connection closed during the TLS handshake with ${where}` } }),
    );
  });
}
