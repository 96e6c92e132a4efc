// The configuration as the rest of the program sees it. Every type here is read off the schema;
// the few fields that are not settings as written (paths resolved, modes decided) say so.

import type { Static } from '@sinclair/typebox';
import type { AcmeSchema, ConnectionsSchema, CrlSchema, EstSchema, Settings, TokenIssuerSchema } from './schema.js';

/** Configuration is read once and shared, so nothing downstream may change it. */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export type TokenIssuerConfig = DeepReadonly<Static<typeof TokenIssuerSchema>>;
/** How long the HTTPS listener lets a client take at each stage of a connection. */
export type ConnectionsConfig = DeepReadonly<Static<typeof ConnectionsSchema>>;
/** The ACME plugin's options. */
export type AcmeConfig = DeepReadonly<Static<typeof AcmeSchema>>;
/** The challenge validators' options (acme.validation). */
export type AcmeValidationConfig = AcmeConfig['validation'];
/** The EST plugin's options; usersFile is resolved (its default lives under dataDir). */
export type EstConfig = DeepReadonly<Required<Static<typeof EstSchema>>>;
/** Publishing CRLs; publicUrl without a trailing slash. */
export type CrlConfig = DeepReadonly<Static<typeof CrlSchema>>;

export type Config = DeepReadonly<{
  listen: Settings['listen'];
  /** Absolute. */
  dataDir: string;
  trustDomain: string;
  /** Processes serving HTTPS; 1 runs everything in one process ("auto" resolved to the core count). */
  workers: number;
  policyFile: string;
  /**
   * Paths absolute; the passphrase read from ca.passphraseFile, else ca.passphrase. `pkcs11` is
   * set, complete, exactly when `signer` is pkcs11 (then `issuingKey` is not read).
   */
  ca: {
    rootCert: string;
    issuingCert: string;
    issuingKey: string;
    passphrase?: string;
    signer: 'file' | 'pkcs11';
    allowUnencryptedKey: boolean;
    pkcs11: Pkcs11Config | null;
  };
  tls: Required<Settings['tls']>;
  connections: ConnectionsConfig;
  tokenIssuers: TokenIssuerConfig[];
  /** Development token issuer (the `token` command); null in production unless asked for. */
  devTokenIssuer: { issuer: string; audience: string; dir: string; maxTokenLifetimeSeconds: number } | null;
  limits: Settings['limits'];
  logLevel: Settings['logLevel'];
  databaseUrl: string | null;
  redisUrl: string | null;
  /** Prefix of every Redis key, so several deployments or test runs can share one Redis. */
  redisPrefix: string;
  /**
   * Bearer credential for the inventory API: the value itself (adminToken) or a file read at
   * start. With neither, the inventory API refuses every request (it is never open).
   */
  admin: { token: string | null; tokenFile: string | null };
  worker: Settings['worker'];
  /** The dashboard: the file of the key that signs its session cookies (absolute), and how long a sign-in lasts. */
  ui: { sessionKeyFile: string; sessionMinutes: number };
  est: EstConfig;
  /** nonceKeyFile resolved (its default lives under dataDir). */
  acme: Omit<AcmeConfig, 'nonceKeyFile'> & { nonceKeyFile: string };
  crl: CrlConfig;
}>;

/** Where the issuing key lives in an HSM; the PIN read from ca.pkcs11.pinFile, else ca.pkcs11.pin. */
export interface Pkcs11Config {
  /** Absolute path of the PKCS#11 library. */
  readonly module: string;
  readonly tokenLabel: string;
  readonly keyLabel: string | null;
  /** CKA_ID, lower-case hex. */
  readonly keyId: string | null;
  readonly pin: string;
}
