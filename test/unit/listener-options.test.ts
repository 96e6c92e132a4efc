// The listener's defaults and settings: what a slow client gets when nobody configured anything.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/config.js';
import { fastifyTimeouts, httpsListenerOptions } from '../../src/http/listener-options.js';

const load = (env: Record<string, string> = {}) => {
  const r = loadConfig(env, '/nonexistent');
  if (!r.ok) assert.fail(r.problems.join('; '));
  return r.config;
};

test('by default a slow-header or silent client is closed within 10 s, and keep-alive outlasts a 60 s load balancer', () => {
  const c = load();
  const https = httpsListenerOptions(c.connections, c.tls.ciphers);
  // Node enforces headersTimeout on its sweep, so the worst case is the limit plus one interval.
  assert.ok(https.headersTimeout + https.connectionsCheckingInterval <= 10_000, JSON.stringify(https));
  assert.ok(https.handshakeTimeout <= 10_000);
  assert.ok(https.headersTimeout <= https.requestTimeout, 'Node refuses headersTimeout > requestTimeout');
  assert.ok(fastifyTimeouts(c.connections).keepAliveTimeout > 60_000);
  assert.equal(fastifyTimeouts(c.connections).requestTimeout, https.requestTimeout);
  // TLS 1.2: ECDHE with AEAD only; no TLS 1.3 names, so its defaults stay.
  for (const suite of https.ciphers.split(':')) assert.match(suite, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
});

test('every limit and the cipher list can be set from the environment', () => {
  const c = load({
    WORKLOAD_CA_TLS_HANDSHAKE_TIMEOUT_MS: '3000',
    WORKLOAD_CA_HEADERS_TIMEOUT_MS: '4000',
    WORKLOAD_CA_REQUEST_TIMEOUT_MS: '5000',
    WORKLOAD_CA_KEEP_ALIVE_TIMEOUT_MS: '75000',
    WORKLOAD_CA_CONNECTIONS_CHECK_INTERVAL_MS: '500',
    WORKLOAD_CA_TLS_CIPHERS: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  });
  assert.deepEqual(c.connections, {
    handshakeTimeoutMs: 3000,
    headersTimeoutMs: 4000,
    requestTimeoutMs: 5000,
    keepAliveTimeoutMs: 75000,
    checkIntervalMs: 500,
  });
  assert.equal(c.tls.ciphers, 'ECDHE-ECDSA-AES256-GCM-SHA384');
});

test('a headers limit longer than the request limit is refused at load, not by Node at listen', () => {
  const r = loadConfig({ WORKLOAD_CA_HEADERS_TIMEOUT_MS: '40000', WORKLOAD_CA_REQUEST_TIMEOUT_MS: '30000' }, '/nonexistent');
  assert.equal(r.ok, false);
  if (!r.ok)
    assert.deepEqual(r.problems, [
      'connections.headersTimeoutMs must not exceed connections.requestTimeoutMs (environment WORKLOAD_CA_HEADERS_TIMEOUT_MS, WORKLOAD_CA_REQUEST_TIMEOUT_MS)',
    ]);
});
