// The server every suite and soak scenario runs against: production mode (Redis queue, Postgres
// ledger, one ledger worker), one policy with the default rules (API tokens, ACME bindings) plus
// an EST gateway rule, a manufacturer PKI for the gateways, a DNS server and an http-01
// responder for ACME validation. Everything is made before any clock starts.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../../src/config/config.js';
import { defaultPolicyYaml } from '../../src/policy/index.js';
import { startDnsServer } from '../../test/helpers/dns-server.js';
import { freePort } from '../../test/helpers/infra.js';
import { acmeScenario, startHttp01Responder, type AcmeSample } from '../scenarios/acme.js';
import { apiScenario } from '../scenarios/api.js';
import { estScenario, type EstSample } from '../scenarios/est.js';
import type { Scenario } from '../scenarios/scenario.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import { LABEL, TRUST_DOMAIN, prepareRequests as prepareEstRequests, prepareWorld } from './est-workload.js';
import type { IssuedSample } from './runner.js';
import { mintCredentials } from './tokens.js';
import { prepareRequests as prepareApiRequests } from './workload.js';

export interface SuiteServerOptions {
  readonly workers: number | 'auto';
  readonly cpuProfDir: string | null;
  /** Distinct API tokens, prepared CSRs per path, and gateways. */
  readonly identities: number;
  readonly csrs: number;
  readonly gateways: number;
}

export interface SuiteServer {
  readonly server: EmbeddedServer;
  readonly api: Scenario<IssuedSample>;
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
    production: true,
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
    const issuingPem = readFileSync(join(server.dataDir, 'ca/issuing-ca.pem'), 'utf8');
    return {
      server,
      api: apiScenario(server.url, server.rootPem, prepareApiRequests(o.csrs, credentials)),
      est: estScenario(server.url, server.rootPem, issuingPem, world.gateways, prepareEstRequests(o.csrs, world.gateways)),
      acme: (ordersPerClient) =>
        acmeScenario({ origin: server.url.origin, rootPem: server.rootPem, trustDomain: TRUST_DOMAIN, adminToken: ADMIN_TOKEN, responder, ordersPerClient }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The default policy (what an operator starts from) and the gateway rule of the EST walk-through. */
export function suitePolicy(): string {
  return `${defaultPolicyYaml({ trustDomain: TRUST_DOMAIN, tokenIssuer: DEV_TOKEN_ISSUER, audience: DEV_TOKEN_AUDIENCE })}
  - name: gateway-fleet
    match: { paths: [est], est: { label: ${LABEL}, auth: [trust-anchor], name: "gw-*" } }
    grant: { spiffeId: 'spiffe://{trustDomain}/gateway/{requester.name}/device/*', defaultLifetime: 1h }
`;
}
