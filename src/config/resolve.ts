// Settings as written to the configuration the program runs with: relative paths resolved
// against the working directory, defaults that depend on dataDir or on the mode filled in, the
// passphrase file read. Nothing here throws: an unreadable file is a problem naming its setting.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { ConfigProblem } from './problem.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, type Settings } from './schema.js';
import { SETTINGS } from './settings.js';
import type { Config, Pkcs11Config } from './types.js';

export const DEV_TOKEN_ISSUER = 'https://token-issuer.workload-ca.test';
export const DEV_TOKEN_AUDIENCE = 'workload-ca';

const settingNamed = (key: string) => SETTINGS.find((s) => s.key === key);

/** A secret kept in a file (a mounted Secret): read once at start, trailing newline dropped. */
function readSecretFile(key: string, file: string, cwd: string, ctx: ResolveContext): { value?: string; problem?: ConfigProblem } {
  try {
    return { value: readFileSync(resolve(cwd, file), 'utf8').trimEnd() };
  } catch (err) {
    const setting = settingNamed(key);
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return {
      problem: {
        key,
        ...(setting ? { setting } : {}),
        source: ctx.fromEnvironment.has(key) ? { kind: 'environment' } : { kind: 'file', file: ctx.file },
        message: `cannot be read (${reason})`,
        value: file,
      },
    };
  }
}

function readPassphrase(s: Settings, ctx: ResolveContext): { passphrase?: string; problem?: ConfigProblem } {
  if (!s.ca.passphraseFile) return s.ca.passphrase === undefined ? {} : { passphrase: s.ca.passphrase };
  const { value, problem } = readSecretFile('ca.passphraseFile', s.ca.passphraseFile, ctx.cwd, ctx);
  return problem ? { problem } : { passphrase: value! };
}

/** The HSM's settings when `ca.signer` is pkcs11: every one it needs, or a problem naming what is missing. */
function resolvePkcs11(s: Settings, ctx: ResolveContext): { pkcs11: Pkcs11Config | null; problems: ConfigProblem[] } {
  if (s.ca.signer !== 'pkcs11') return { pkcs11: null, problems: [] };
  const p = s.ca.pkcs11;
  const problems: ConfigProblem[] = [];
  const missing = (key: string, what: string): void => {
    const setting = settingNamed(key);
    problems.push({
      key,
      ...(setting ? { setting } : {}),
      source: { kind: 'combination', settings: [settingNamed('ca.signer'), setting].filter((x) => x !== undefined) },
      message: `is required when ca.signer is pkcs11 (${what})`,
    });
  };
  if (p.module === null) missing('ca.pkcs11.module', "the HSM's PKCS#11 library");
  if (p.tokenLabel === null) missing('ca.pkcs11.tokenLabel', 'which token');
  if (p.keyLabel === null && p.keyId === null) missing('ca.pkcs11.keyLabel', 'which key: ca.pkcs11.keyLabel, ca.pkcs11.keyId or both');
  let pin = p.pin;
  if (p.pinFile !== null) {
    const read = readSecretFile('ca.pkcs11.pinFile', p.pinFile, ctx.cwd, ctx);
    if (read.problem) problems.push(read.problem);
    else pin = read.value!;
  }
  if (pin === null) missing('ca.pkcs11.pinFile', 'the user PIN: ca.pkcs11.pinFile or ca.pkcs11.pin');
  if (problems.length > 0) return { pkcs11: null, problems };
  return {
    pkcs11: {
      module: resolve(ctx.cwd, p.module!),
      tokenLabel: p.tokenLabel!,
      keyLabel: p.keyLabel,
      keyId: p.keyId?.toLowerCase() ?? null,
      pin: pin!,
    },
    problems: [],
  };
}

export interface ResolveContext {
  readonly cwd: string;
  readonly file: string | null;
  /** Keys of the settings that came from the environment (for a problem's wording). */
  readonly fromEnvironment: ReadonlySet<string>;
}

export function resolveSettings(s: Settings, ctx: ResolveContext): { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] } {
  const { cwd } = ctx;
  const dataDir = resolve(cwd, s.dataDir);
  const inData = (p: string) => join(dataDir, p);
  const path = (value: string | undefined, fallback: string) => resolve(cwd, value ?? fallback);
  const { passphrase, problem } = readPassphrase(s, ctx);
  if (problem) return { ok: false, problems: [problem] };
  const hsm = resolvePkcs11(s, ctx);
  if (hsm.problems.length > 0) return { ok: false, problems: hsm.problems };
  const embedded = s.databaseUrl === null;
  // The development token issuer exists only in the embedded mode unless asked for explicitly.
  const devTokens = s.devTokenIssuer ?? embedded;
  const c = s.connections;
  // Node refuses to start a server whose headers limit outlasts its request limit.
  const problems: ConfigProblem[] = [];
  const combination = (...keys: string[]) => ({ kind: 'combination' as const, settings: keys.map(settingNamed).filter((x) => x !== undefined) });
  if (c.headersTimeoutMs > c.requestTimeoutMs) {
    problems.push({
      key: 'connections.headersTimeoutMs',
      source: combination('connections.headersTimeoutMs', 'connections.requestTimeoutMs'),
      message: 'must not exceed connections.requestTimeoutMs',
    });
  }
  if (c.checkIntervalMs > c.headersTimeoutMs) {
    problems.push({
      key: 'connections.checkIntervalMs',
      source: combination('connections.checkIntervalMs', 'connections.headersTimeoutMs'),
      message: 'must not exceed connections.headersTimeoutMs',
    });
  }
  if (s.crl.renewBeforeSeconds >= s.crl.validitySeconds) {
    problems.push({
      key: 'crl.renewBeforeSeconds',
      source: combination('crl.renewBeforeSeconds', 'crl.validitySeconds'),
      message: 'must be less than crl.validitySeconds',
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  const config: Config = {
    listen: s.listen,
    dataDir,
    trustDomain: s.trustDomain,
    workers: s.workers === 'auto' ? availableParallelism() : s.workers,
    policyFile: path(s.policyFile, inData('policy.yaml')),
    ca: {
      rootCert: path(s.ca.rootCert, inData('ca/root-ca.pem')),
      issuingCert: path(s.ca.issuingCert, inData('ca/issuing-ca.pem')),
      issuingKey: path(s.ca.issuingKey, inData('ca/issuing-ca.key')),
      ...(passphrase === undefined ? {} : { passphrase }),
      signer: s.ca.signer,
      allowUnencryptedKey: s.ca.allowUnencryptedKey,
      pkcs11: hsm.pkcs11,
    },
    tls: { ...s.tls, cert: path(s.tls.cert, inData('tls/server.pem')), key: path(s.tls.key, inData('tls/server.key')) },
    connections: s.connections,
    tokenIssuers: s.tokenIssuers.map((t) => (t.jwksFile ? { ...t, jwksFile: resolve(cwd, t.jwksFile) } : t)),
    devTokenIssuer: devTokens
      ? {
          issuer: DEV_TOKEN_ISSUER,
          audience: DEV_TOKEN_AUDIENCE,
          dir: inData('dev-token-issuer'),
          maxTokenLifetimeSeconds: typeof devTokens === 'object' ? devTokens.maxTokenLifetimeSeconds : DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
        }
      : null,
    limits: s.limits,
    logLevel: s.logLevel,
    databaseUrl: s.databaseUrl,
    redisUrl: s.redisUrl,
    redisPrefix: s.redisPrefix,
    admin: {
      token: s.adminToken?.trim() || null,
      // The embedded mode makes one on first start.
      tokenFile: s.adminTokenFile ? resolve(cwd, s.adminTokenFile) : embedded ? inData('admin-token') : null,
    },
    worker: s.worker,
    ui: { sessionKeyFile: path(s.ui.sessionKeyFile, inData('ui-session-key')), sessionMinutes: s.ui.sessionMinutes },
    est: {
      usersFile: path(s.est.usersFile, inData('est-users.json')),
      basicCacheSeconds: s.est.basicCacheSeconds,
      passwordHashConcurrency: s.est.passwordHashConcurrency,
      trustAnchors: s.est.trustAnchors.map((f) => resolve(cwd, f)),
      trustRegistrationAuthorities: s.est.trustRegistrationAuthorities,
      labels: Object.fromEntries(
        Object.entries(s.est.labels).map(([label, l]) => [label, { ...l, trustAnchors: l.trustAnchors.map((f) => resolve(cwd, f)) }]),
      ),
    },
    acme: { ...s.acme, nonceKeyFile: path(s.acme.nonceKeyFile, inData('ca/acme-nonce.key')) },
    crl: { ...s.crl, publicUrl: s.crl.publicUrl?.replace(/\/+$/, '') ?? null },
  };
  return { ok: true, config };
}
