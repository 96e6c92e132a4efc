// How the HTTPS listener treats connections: which TLS 1.2 suites it offers, and how long a
// client may take to finish its handshake, send its headers, send its whole request, or sit idle
// between requests. Without these limits a few hundred slow or silent clients hold sockets and
// memory open indefinitely (Node's own defaults: 60 s headers checked only every 30 s, 5 min
// request, 2 min handshake).

import type { ConnectionsConfig } from '../config/config.js';

// The default TLS 1.2 list (DEFAULT_TLS_CIPHERS in config) is ECDHE key exchange (forward
// secrecy) with AEAD ciphers only, ECDSA first because the CA makes its own HTTPS certificate with
// a P-256 key; the RSA forms serve an operator's RSA certificate. No CBC (Lucky 13 and its kin),
// no SHA-1 MACs, no static RSA key exchange. TLS 1.3 suites are never named in the list, so
// OpenSSL's TLS 1.3 defaults (all AEAD) stay in force.

/** Options for https.createServer (through Fastify's `https`): node:tls and node:http read both. */
export interface HttpsListenerOptions {
  readonly ciphers: string;
  readonly honorCipherOrder: true;
  readonly handshakeTimeout: number;
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly connectionsCheckingInterval: number;
}

/** Fastify sets these on the server after creating it, so they must come through its own options. */
export interface FastifyTimeouts {
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
}

export function httpsListenerOptions(connections: ConnectionsConfig, ciphers: string): HttpsListenerOptions {
  return {
    ciphers,
    // The server's order wins, so a client offering a weaker suite first still gets the strongest.
    honorCipherOrder: true,
    // Runs from accept: a client that connects and never says hello is dropped.
    handshakeTimeout: connections.handshakeTimeoutMs,
    // Also bounds a connection that completes the handshake and then sends nothing: Node starts
    // the headers clock when the connection's parser starts, not at the first byte.
    headersTimeout: connections.headersTimeoutMs,
    requestTimeout: connections.requestTimeoutMs,
    // Node enforces the two above only on this sweep (30 s by default), so it sets the precision.
    connectionsCheckingInterval: connections.checkIntervalMs,
  };
}

export function fastifyTimeouts(connections: ConnectionsConfig): FastifyTimeouts {
  return { keepAliveTimeout: connections.keepAliveTimeoutMs, requestTimeout: connections.requestTimeoutMs };
}
