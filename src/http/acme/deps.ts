// What the ACME plugin is built from. Everything stateful is behind an interface, so the same
// routes run on Postgres and Redis in production and on the embedded primary otherwise.

import type { X509Certificate } from 'node:crypto';
import type { AcmeConfig } from '../../config/config.js';
import type { Issuer, PolicySource } from '../../issuance/issuer.js';
import type { NonceMint } from './nonces.js';
import type { SharedState } from './shared-state.js';
import type { AcmeStore, ChallengeType } from './store.js';
import type { ValidationOutcome } from './validation/index.js';

export type Validate = (type: ChallengeType, domain: string, token: string, keyAuthorization: string) => Promise<ValidationOutcome>;

export interface AcmeDeps {
  readonly config: AcmeConfig;
  readonly store: AcmeStore;
  readonly state: SharedState;
  readonly nonces: NonceMint;
  readonly issuer: Issuer;
  readonly policy: PolicySource;
  /** The issuing CA: revocation requests must carry a certificate it signed. */
  readonly issuing: X509Certificate;
  readonly validate: Validate;
  readonly clock?: () => number;
}
