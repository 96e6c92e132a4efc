// First start of the embedded mode: everything a single machine needs, created once under the
// data directory and reused on later starts.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { caPaths, ensureServerCertificate, initCa, writePrivate } from '../ca/ceremony.js';
import { openSigner } from '../ca/open-signer.js';
import { writeSecretFile } from '../files/secret-file.js';
import type { Config } from '../config/config.js';
import { ensureDevTokenIssuer } from '../dev/token-issuer.js';
import { defaultPolicyYaml } from '../policy/index.js';
import { ensureSessionKey } from '../http/ui/session-key.js';

export interface Prepared {
  readonly created: readonly string[];
}

/** Creates what is missing: CA, TLS certificate, dev token issuer, policy. Never overwrites. */
export async function prepareDataDir(config: Config): Promise<Prepared> {
  const created: string[] = [];
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

  const defaultCa = caPaths(join(config.dataDir, 'ca'));
  if (config.ca.issuingCert === defaultCa.issuingCert && !existsSync(defaultCa.issuingCert)) {
    const r = await initCa(defaultCa.dir, {
      trustDomain: config.trustDomain,
      ...(config.ca.passphrase === undefined ? {} : { passphrase: config.ca.passphrase }),
      ...(config.ca.pkcs11 === null ? {} : { pkcs11: config.ca.pkcs11 }),
    });
    if (!r.ok) throw new Error(r.reason);
    created.push(`development root and issuing CA in ${defaultCa.dir}`);
  }

  // A data directory from before the nonce key had its own secret gets one now.
  if (writeSecretFile(config.acme.nonceKeyFile)) created.push(`ACME nonce key ${config.acme.nonceKeyFile}`);

  if (config.devTokenIssuer) {
    const existed = existsSync(join(config.devTokenIssuer.dir, 'jwks.json'));
    ensureDevTokenIssuer(config.devTokenIssuer.dir);
    if (!existed) created.push(`development token issuer in ${config.devTokenIssuer.dir}`);
  }

  if (!existsSync(config.policyFile)) {
    mkdirSync(dirname(config.policyFile), { recursive: true, mode: 0o700 });
    writeFileSync(
      config.policyFile,
      defaultPolicyYaml({
        trustDomain: config.trustDomain,
        tokenIssuer: config.devTokenIssuer?.issuer ?? 'https://kubernetes.default.svc.cluster.local',
        audience: config.devTokenIssuer?.audience ?? 'workload-ca',
      }),
      { mode: 0o600 },
    );
    created.push(`default policy ${config.policyFile}`);
  }

  if (config.admin.tokenFile !== null && config.admin.token === null && !existsSync(config.admin.tokenFile)) {
    writePrivate(config.admin.tokenFile, `${randomBytes(32).toString('base64url')}\n`);
    created.push(`admin token for the inventory API ${config.admin.tokenFile}`);
  }

  if (ensureSessionKey(config.ui.sessionKeyFile)) created.push(`dashboard session key ${config.ui.sessionKeyFile}`);

  const hadTls = existsSync(config.tls.cert);
  await ensureServerCertificateFor(config);
  if (!hadTls) created.push(`server TLS certificate ${config.tls.cert}`);
  return { created };
}

/**
 * Production start: keys and policy are the operator's (a mounted Secret and ConfigMap), so they
 * must exist; only the HTTPS certificate is made from the CA when none is mounted.
 */
export async function prepareProduction(config: Config): Promise<void> {
  const key = config.ca.signer === 'file' ? [config.ca.issuingKey] : [];
  const needed = [config.ca.rootCert, config.ca.issuingCert, ...key, config.acme.nonceKeyFile, config.policyFile];
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(', ')}: create a CA (and the ACME nonce key) with \`workload-ca init DIR\` and a policy, or point the configuration at them`,
    );
  }
  if (config.devTokenIssuer) ensureDevTokenIssuer(config.devTokenIssuer.dir);
  // One replica alone can make its own; several must share one (ui.sessionKeyFile, a mounted Secret).
  try {
    if (ensureSessionKey(config.ui.sessionKeyFile)) {
      console.warn(`warning: made a dashboard session key at ${config.ui.sessionKeyFile}; with several replicas, mount one shared key instead`);
    }
  } catch (err) {
    console.warn(`warning: the dashboard cannot sign anyone in: ${(err as Error).message}; set ui.sessionKeyFile`);
  }
  await ensureServerCertificateFor(config);
}

/** The HTTPS certificate for the configured names, made from the CA when missing or due. */
async function ensureServerCertificateFor(config: Config): Promise<void> {
  const signer = await openSigner(config);
  try {
    await ensureServerCertificate(signer, config.tls, config.tls);
  } finally {
    await signer.close();
  }
}
