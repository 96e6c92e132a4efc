// Settings as written to the configuration the program runs with: relative paths resolved
// against the working directory, defaults that depend on dataDir or on the mode filled in, the
// passphrase file read. Nothing here throws: an unreadable file is a problem naming its setting.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { ConfigProblem } from './problem.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, type Settings } from './schema.js';
import { SETTINGS } from './settings.js';
import type { Config } from './types.js';

export const DEV_TOKEN_ISSUER = 'https://token-issuer.workload-ca.test';
export const DEV_TOKEN_AUDIENCE = 'workload-ca';

const settingNamed = (key: string) => SETTINGS.find((s) => s.key === key);

function readPassphrase(s: Settings, cwd: string, file: string | null, fromEnvironment: boolean): { passphrase?: string; problem?: ConfigProblem } {
  const passphraseFile = s.ca.passphraseFile;
  if (!passphraseFile) return s.ca.passphrase === undefined ? {} : { passphrase: s.ca.passphrase };
  try {
    return { passphrase: readFileSync(resolve(cwd, passphraseFile), 'utf8').trimEnd() };
  } catch (err) {
    const setting = settingNamed('ca.passphraseFile');
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return {
      problem: {
        key: 'ca.passphraseFile',
        ...(setting ? { setting } : {}),
        source: fromEnvironment ? { kind: 'environment' } : { kind: 'file', file },
        message: `cannot be read (${reason})`,
        value: passphraseFile,
      },
    };
  }
}

export interface ResolveContext {
  readonly cwd: string;
  readonly file: string | null;
  /** Whether ca.passphraseFile came from the environment (for the problem's wording). */
  readonly passphraseFileFromEnvironment: boolean;
}

export function resolveSettings(s: Settings, ctx: ResolveContext): { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] } {
  const { cwd } = ctx;
  const dataDir = resolve(cwd, s.dataDir);
  const inData = (p: string) => join(dataDir, p);
  const path = (value: string | undefined, fallback: string) => resolve(cwd, value ?? fallback);
  const { passphrase, problem } = readPassphrase(s, cwd, ctx.file, ctx.passphraseFileFromEnvironment);
  if (problem) return { ok: false, problems: [problem] };
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
    acme: s.acme,
  };
  return { ok: true, config };
}
