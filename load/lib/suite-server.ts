// The server every suite and soak scenario runs against: production mode (Redis queue, Postgres
// ledger, one ledger worker), one policy with the default rules (API tokens, ACME bindings) plus
// an EST gateway rule, a manufacturer PKI for the gateways, a DNS server and an http-01
// responder for ACME validation. Everything is made before any clock starts.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer } from '../../test/support/dns-server.js';
import { TRUST_DOMAIN, prepareRequests as prepareEstRequests, prepareWorld, suitePolicy } from '../../test/support/est-workload.js';
import { freePort } from '../../test/support/infra.js';
import { acmeScenario, startHttp01Responder, type AcmeSample } from '../../test/support/scenarios/acme.js';
import { apiScenario } from '../../test/support/scenarios/api.js';
import { renewScenario } from '../../test/support/scenarios/renew.js';
import { estScenario, type EstSample } from '../../test/support/scenarios/est.js';
import type { Scenario } from '../../test/support/scenarios/scenario.js';
import type { IssuedSample } from '../../test/support/verify.js';
import { prepareRequests as prepareApiRequests } from '../../test/support/workload.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import type { BenchSigner } from './production.js';
import { FreshTokens, mintCredentials } from './tokens.js';

export interface SuiteServerOptions {
  readonly workers: number | 'auto';
  readonly cpuProfDir: string | null;
  /** Another built checkout of the project to serve from (null: this one). */
  readonly checkout?: string | null;
  /** fresh: every API request carries a token of its own from `freshTokens` (refill it before each level). */
  readonly tokens?: 'fresh' | 'reused';
  /** Distinct API tokens, prepared CSRs per path, and gateways. */
  readonly identities: number;
  readonly csrs: number;
  readonly gateways: number;
  /** Where the issuing key lives (default an encrypted key file). */
  readonly signer?: BenchSigner;
}

export interface SuiteServer {
  readonly server: EmbeddedServer;
  readonly api: Scenario<IssuedSample>;
  /** mTLS renewal: each client first gets an SVID with a token, then renews with it. */
  readonly renew: Scenario<IssuedSample>;
  /** The API scenario's tokens in fresh mode (empty, and unused, when tokens are reused). */
  readonly freshTokens: FreshTokens;
  readonly est: Scenario<EstSample>;
  /** ACME clients each get `ordersPerClient` fresh names; size it for the run's length. */
  acme(ordersPerClient: number): Scenario<AcmeSample>;
  stop(): Promise<void>;
}

const ADMIN_TOKEN = 'suite-admin-token';

export async function startSuiteServer(o: SuiteServerOptions): Promise<SuiteServer> {
  const dir = mkdtempSync(join(tmpdir(), 'wlca-suite-'));
  const world = prepareWorld(dir, o.gateways);
  writeFileSync(join(dir, 'policy.yaml'), suitePolicy());
  const dns = await startDnsServer();
  const responder = await startHttp01Responder(await freePort());
  const server = await startEmbeddedServer({
    workers: o.workers,
    trustDomain: TRUST_DOMAIN,
    cpuProfDir: o.cpuProfDir,
    checkout: o.checkout,
    production: true,
    ...(o.signer ? { signer: o.signer } : {}),
    env: {
      WORKLOAD_CA_CONFIG: world.configFile,
      WORKLOAD_CA_ACME_HTTP01_PORT: String(responder.port),
      WORKLOAD_CA_ACME_RESOLVER: dns.address,
      // The responder is on loopback, which validation refuses unless it is allowed.
      WORKLOAD_CA_ACME_ALLOWED_NETWORKS: '127.0.0.0/8',
      WORKLOAD_CA_ADMIN_TOKEN: ADMIN_TOKEN,
      // A bench account orders far more than an hour's default allowance.
      WORKLOAD_CA_ACME_NEW_ORDERS_PER_HOUR: '100000000',
    },
  });
  const stop = async (): Promise<void> => {
    await server.stop();
    await responder.close();
    await dns.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const credentials = await mintCredentials(server, o.identities, TRUST_DOMAIN);
    const apiRequests = prepareApiRequests(o.csrs, credentials);
    const freshTokens = new FreshTokens(server.dataDir, o.identities, TRUST_DOMAIN);
    const issuingPem = readFileSync(join(server.dataDir, 'ca/issuing-ca.pem'), 'utf8');
    return {
      server,
      api: apiScenario(server.url, server.rootPem, apiRequests, o.tokens === 'fresh' ? freshTokens : undefined),
      freshTokens,
      renew: renewScenario(server.url, server.rootPem, apiRequests),
      est: estScenario(server.url, server.rootPem, issuingPem, world.gateways, prepareEstRequests(o.csrs, world.gateways)),
      acme: (ordersPerClient) =>
        acmeScenario({
          origin: server.url.origin,
          rootPem: server.rootPem,
          trustDomain: TRUST_DOMAIN,
          adminToken: ADMIN_TOKEN,
          responder,
          ordersPerClient,
        }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
