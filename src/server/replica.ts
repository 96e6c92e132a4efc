// One serving process: loads the CA and the policy, wires the Issuer to its audit sink, and
// listens. Runs as a cluster worker, or alone when `workers` is 1.

import { existsSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import client from 'prom-client';
import { loadCaCertificates } from '../ca/ceremony.js';
import { openSigner } from '../ca/open-signer.js';
import { readSecretFile } from '../files/secret-file.js';
import type { Config } from '../config/config.js';
import type { AuditSink } from '../audit/event.js';
import { buildApp } from '../http/app.js';
import { TokenVerifier } from '../http/auth/token-verifier.js';
import { IssuanceMetrics } from '../http/metrics.js';
import { Issuer } from '../issuance/issuer.js';
import { SignerSlot } from '../pki/signer.js';
import { PolicyStore } from '../issuance/policy-store.js';
import { devIssuerFiles } from '../dev/token-issuer.js';
import type { LedgerReader } from '../ledger/inventory.js';
import { buildEstDeps } from '../http/est/deps.js';
import { NonceMint } from '../http/acme/nonces.js';
import type { SharedState } from '../http/acme/shared-state.js';
import type { AcmeStore } from '../http/acme/store.js';
import { validateChallenge } from '../http/acme/validation/index.js';
import { LoggedAuditSink } from '../audit/decision-log.js';
import { createLogger } from './logger.js';
import type { Revocations } from '../revocation/keeper.js';
import type { Signer } from '../pki/signer.js';
import type { CrlService } from '../ca/crl-publisher.js';
import { crlDistributionPointProblems, crlUrl } from '../ca/crl-url.js';
import type { DashboardReader } from '../ledger/dashboard-queries.js';
import { readSessionKey } from '../http/ui/session-key.js';
import type { UiOptions } from '../http/ui/plugin.js';
import type { Logger } from 'pino';

export interface Replica {
  readonly app: FastifyInstance;
  readonly policy: PolicyStore;
  close(): Promise<void>;
}

export interface ReplicaOptions {
  readonly config: Config;
  readonly sink: AuditSink;
  readonly reader: LedgerReader;
  /** Metrics for the whole server; in cluster mode the primary aggregates every worker's. */
  readonly metricsText?: () => Promise<{ contentType: string; body: string }>;
  readonly onMetrics?: (m: IssuanceMetrics) => void;
  /** ACME's protocol state: Postgres and Redis, or the embedded primary. */
  readonly acme: { readonly store: AcmeStore; readonly state: SharedState };
  /** This process's revocation set, loaded before the replica starts. */
  readonly revocations: Pick<Revocations, 'isRevoked' | 'health'>;
  /** This process's CRLs, given the signer they are signed with (a publisher, or copies from the embedded primary). */
  readonly crls: (signer: Signer) => Promise<CrlService>;
  /** The dashboard's ledger queries; absent: no dashboard. */
  readonly dashboard?: DashboardReader;
}

export async function startReplica(opts: ReplicaOptions): Promise<Replica> {
  const { config } = opts;
  const log = createLogger(config.logLevel);
  // Every decision this process makes, on any path, reaches the ledger through this sink.
  const sink = new LoggedAuditSink(opts.sink, log);
  const ca = loadCaCertificates(config.ca);
  // The nonce key is a secret of its own, the same file on every replica (a mounted Secret).
  const nonceKey = readSecretFile(config.acme.nonceKeyFile, 'the ACME nonce key (acme.nonceKeyFile)');
  // Only the signer holds the issuing key; the Issuer reads it through the slot a rotation swaps.
  const signers = new SignerSlot(await openSigner(config));
  const opened = PolicyStore.open(
    config.policyFile,
    {
      info: (m) => log.info(m),
      error: (m) => log.error(m),
    },
    crlDistributionPointProblems(config.crl.publicUrl),
  );
  if (!opened.ok) throw new Error(`policy is invalid:\n${opened.message}`);
  const policy = opened.store;

  const metrics = new IssuanceMetrics();
  if (sink.backlog) metrics.watchQueue(() => sink.backlog!());
  opts.onMetrics?.(metrics);
  const publicUrl = config.crl.publicUrl;
  const issuer = new Issuer(signers, policy, sink, metrics, Date.now, {
    crlUrlFor: (issuerKeyId) => (publicUrl === null ? null : crlUrl(publicUrl, issuerKeyId)),
  });
  metrics.watchIssuingCa(() => issuer.caSecondsLeft());
  const crls = await opts.crls(signers.current);
  const tokenIssuers = [...config.tokenIssuers];
  if (config.devTokenIssuer) {
    const d = config.devTokenIssuer;
    tokenIssuers.push({
      issuer: d.issuer,
      audiences: [d.audience],
      jwksFile: devIssuerFiles(d.dir).jwks,
      maxTokenLifetimeSeconds: d.maxTokenLifetimeSeconds,
    });
  }

  const app: FastifyInstance = await buildApp({
    tls: {
      key: readFileSync(config.tls.key, 'utf8'),
      cert: readFileSync(config.tls.cert, 'utf8'),
      clientCa: readFileSync(config.ca.rootCert, 'utf8') + readFileSync(config.ca.issuingCert, 'utf8'),
      ciphers: config.tls.ciphers,
    },
    connections: config.connections,
    bodyLimit: config.limits.bodyBytes,
    log,
    issuer,
    tokens: new TokenVerifier(tokenIssuers),
    roots: [ca.root],
    issuing: ca.issuing,
    revocations: opts.revocations,
    // A CA outside its validity can issue nothing: take this replica out of the load balancer.
    ready: async () => {
      const caDown = issuer.caUnavailable();
      if (caDown) return { ok: false, detail: caDown.message };
      const revocations = opts.revocations.health();
      return revocations.ok ? sink.health() : revocations;
    },
    inventory: { reader: opts.reader, adminToken: readAdminToken(config) },
    est: buildEstDeps(config.est, { issuer, policy, root: ca.root, issuing: ca.issuing, revocations: opts.revocations }),
    acme: {
      config: config.acme,
      store: opts.acme.store,
      state: opts.acme.state,
      nonces: new NonceMint(nonceKey, opts.acme.state, config.acme.nonceLifetimeSeconds * 1000),
      issuer,
      policy,
      issuing: ca.issuing,
      validate: (type, domain, token, keyAuthorization) => validateChallenge(type, domain, token, keyAuthorization, config.acme.validation),
    },
    crl: { crls, activeIssuerKeyId: issuer.issuerKeyId, maxAgeSeconds: config.crl.maxAgeSeconds },
    metrics: opts.metricsText ?? (async () => ({ contentType: client.register.contentType, body: await metrics.registry.metrics() })),
    ...(opts.dashboard && { ui: dashboardOptions(config, opts.dashboard, policy, log) }),
  });
  policy.watch();
  const onHup = (): void => void policy.reload();
  process.on('SIGHUP', onHup);
  await app.listen({ host: config.listen.host, port: config.listen.port });

  return {
    app,
    policy,
    async close() {
      process.off('SIGHUP', onHup);
      policy.close();
      await app.close();
      await crls.close();
      // Counts of folded refusals go to the ledger while the sink is still open.
      await issuer.flushRefusals();
      await signers.current.close();
    },
  };
}

export function readAdminToken(config: Config): string | null {
  if (config.admin.token !== null) return config.admin.token;
  const file = config.admin.tokenFile;
  return file !== null && existsSync(file) ? readFileSync(file, 'utf8').trim() || null : null;
}

function dashboardOptions(config: Config, dashboard: DashboardReader, policy: PolicyStore, log: Logger): UiOptions {
  const key = readSessionKey(config.ui.sessionKeyFile);
  if (!key.ok) log.warn(`the dashboard cannot sign anyone in: ${key.reason}`);
  return {
    sessionKey: key.ok ? key.key : null,
    sessionSeconds: config.ui.sessionMinutes * 60,
    dashboard,
    policy,
    mode: config.databaseUrl === null ? 'embedded' : 'production',
  };
}
